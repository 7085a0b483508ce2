package codeactions

import (
	"fmt"
	"go/ast"
	"go/token"
	"regexp"
	"strings"
)

var goAssertMsg = regexp.MustCompile(`interface conversion: .* is (\S+), not (\S+)`)

// goTypeAssert turns a single-value type assertion that panicked into the
// comma-ok form. The fallback fits the statement: an assignment keeps the
// variable's previous value; a declaration gets the zero value (or the
// function returns an error when it can); an assertion inside a larger
// expression leaves through the guard's exit. When the panic says the
// value was a string and a number was wanted, the string is parsed too.
type goTypeAssert struct{}

func (goTypeAssert) Name() string { return "go-type-assertion" }

func (goTypeAssert) Fix(in Input) (Change, error) {
	if !matches(in, "go", "interface conversion") || strings.Contains(errorText(in.Incident), "missing method") {
		return Change{}, notApplicable("not a failed type assertion")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	var ta *ast.TypeAssertExpr
	for _, n := range g.onLine(s, in.Line, func(n ast.Node) bool {
		t, ok := n.(*ast.TypeAssertExpr)
		return ok && t.Type != nil && !hasCall(t.X)
	}) {
		ta = n.(*ast.TypeAssertExpr)
		break
	}
	if ta == nil {
		return Change{}, notApplicable("no type assertion on line %d", in.Line)
	}
	dynamic := ""
	if m := goAssertMsg.FindStringSubmatch(in.Incident.Message); m != nil {
		dynamic = m[1]
	}
	x, typ := g.text(ta.X), g.text(ta.Type)
	title := "Check the type assertion " + x + ".(" + typ + ")"
	as, _ := s.stmt.(*ast.AssignStmt)
	if as != nil && len(as.Lhs) == 1 && len(as.Rhs) == 1 && ast.Unparen(as.Rhs[0]) == ta {
		lhs := g.text(as.Lhs[0])
		prefix := ""
		if as.Tok == token.DEFINE {
			if s.returnsError() {
				return g.assertHoist(s, ta, title)
			}
			prefix = "var " + lhs + " " + typ + "\n"
		} else if as.Tok != token.ASSIGN {
			return Change{}, notApplicable("compound assignment")
		}
		v := g.fresh(s, "v")
		body := fmt.Sprintf("if %s, ok := %s.(%s); ok {\n%s = %s\n}", v, x, typ, lhs, v)
		var imports []string
		if conv, ok := parseConversion(typ, v, lhs); ok && dynamic == "string" {
			body = fmt.Sprintf("switch %s := %s.(type) {\ncase %s:\n%s = %s\ncase string:\n%s\n}", v, x, typ, lhs, v, conv)
			if !g.imports("strconv") {
				imports = append(imports, "strconv")
			}
			title += " and parse strings"
		}
		out, err := g.apply([]edit{{g.off(s.stmt.Pos()), g.off(s.stmt.End()), prefix + body}}, imports...)
		if err != nil {
			return Change{}, err
		}
		return Change{Title: title, Content: out}, nil
	}
	return g.assertHoist(s, ta, title)
}

// assertHoist moves the assertion before the statement in comma-ok form
// and leaves through the guard's exit when it fails.
func (g *goFile) assertHoist(s *site, ta *ast.TypeAssertExpr, title string) (Change, error) {
	x, typ := g.text(ta.X), g.text(ta.Type)
	v, ok := g.fresh(s, "v"), g.fresh(s, "ok")
	exit, imports := g.exit(s, x+" is not a "+typ)
	if as, isAssign := s.stmt.(*ast.AssignStmt); isAssign && as.Tok == token.DEFINE && len(as.Lhs) == 1 && ast.Unparen(as.Rhs[0]) == ta {
		v = g.text(as.Lhs[0])
		text := fmt.Sprintf("%s, %s := %s.(%s)\nif !%s {\n%s\n}", v, ok, x, typ, ok, exit)
		out, err := g.apply([]edit{{g.off(s.stmt.Pos()), g.off(s.stmt.End()), text}}, imports...)
		return Change{Title: title, Content: out}, err
	}
	stmt := g.text(s.stmt)
	at, end := g.off(ta.Pos())-g.off(s.stmt.Pos()), g.off(ta.End())-g.off(s.stmt.Pos())
	text := fmt.Sprintf("%s, %s := %s.(%s)\nif !%s {\n%s\n}\n%s", v, ok, x, typ, ok, exit, stmt[:at]+v+stmt[end:])
	out, err := g.apply([]edit{{g.off(s.stmt.Pos()), g.off(s.stmt.End()), text}}, imports...)
	return Change{Title: title, Content: out}, err
}

// parseConversion returns the statements that parse string v into lhs of
// type typ, for the numeric types strconv parses directly.
func parseConversion(typ, v, lhs string) (string, bool) {
	switch typ {
	case "float64":
		return fmt.Sprintf("if n, err := strconv.ParseFloat(%s, 64); err == nil {\n%s = n\n}", v, lhs), true
	case "int":
		return fmt.Sprintf("if n, err := strconv.Atoi(%s); err == nil {\n%s = n\n}", v, lhs), true
	case "int64":
		return fmt.Sprintf("if n, err := strconv.ParseInt(%s, 10, 64); err == nil {\n%s = n\n}", v, lhs), true
	}
	return "", false
}

// fresh returns name, or name with a number, unused in the function.
func (g *goFile) fresh(s *site, name string) string {
	used := map[string]bool{}
	ast.Inspect(s.fn, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	cand := name
	for i := 2; used[cand]; i++ {
		cand = fmt.Sprintf("%s%d", name, i)
	}
	return cand
}
