package codeactions

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// goDivZero guards the divisor of an integer division or remainder that
// panicked with "integer divide by zero".
type goDivZero struct{}

func (goDivZero) Name() string { return "go-divide-by-zero" }

func (goDivZero) Fix(in Input) (Change, error) {
	if !matches(in, "go", "integer divide by zero") {
		return Change{}, notApplicable("not an integer division by zero")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	var divisors []string
	seen := map[string]bool{}
	for _, n := range g.onLine(s, in.Line, func(n ast.Node) bool { return divisorOf(n) != nil }) {
		d := divisorOf(n)
		if _, lit := d.(*ast.BasicLit); lit || hasCall(d) {
			continue
		}
		if t := g.typeOf(d); t != nil {
			if b, ok := t.Underlying().(*types.Basic); !ok || b.Info()&types.IsInteger == 0 {
				continue // a float division does not panic
			}
		}
		txt := g.text(d)
		if !seen[txt] {
			seen[txt] = true
			divisors = append(divisors, txt)
		}
	}
	if len(divisors) == 0 {
		return Change{}, notApplicable("no integer divisor on line %d", in.Line)
	}
	bad := make([]string, len(divisors))
	ok := make([]string, len(divisors))
	for i, d := range divisors {
		bad[i], ok[i] = d+" == 0", d+" != 0"
	}
	out, err := g.guard(s, strings.Join(bad, " || "), strings.Join(ok, " && "),
		"division by zero: "+strings.Join(divisors, ", ")+" is 0", "")
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Guard against division by zero (" + strings.Join(divisors, ", ") + " == 0)", Content: out}, nil
}

// divisorOf returns the divisor of a division, remainder or /=, %=.
func divisorOf(n ast.Node) ast.Expr {
	switch n := n.(type) {
	case *ast.BinaryExpr:
		if n.Op == token.QUO || n.Op == token.REM {
			return n.Y
		}
	case *ast.AssignStmt:
		if (n.Tok == token.QUO_ASSIGN || n.Tok == token.REM_ASSIGN) && len(n.Rhs) == 1 {
			return n.Rhs[0]
		}
	}
	return nil
}
