package codeactions

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"
)

// goNilPointer guards the pointers dereferenced on the line that panicked
// with "nil pointer dereference". The form follows the function:
//   - when its last result is error, an early return with that error;
//   - `x := p.f` becomes `var x T; if p != nil { x = p.f }`, so the code
//     after it sees the zero value it usually already handles;
//   - an assignment, call or increment is skipped when p is nil;
//   - anything else returns the function's zero values (or continues the
//     loop around it).
type goNilPointer struct{}

func (goNilPointer) Name() string { return "go-nil-pointer" }

func (goNilPointer) Fix(in Input) (Change, error) {
	if !matches(in, "go", "nil pointer dereference") {
		return Change{}, notApplicable("not a nil pointer dereference")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	ptrs := g.nilCandidates(s, in.Line)
	if len(ptrs) == 0 {
		return Change{}, notApplicable("no pointer dereference on line %d", in.Line)
	}
	bad := make([]string, len(ptrs))
	good := make([]string, len(ptrs))
	for i, p := range ptrs {
		bad[i], good[i] = p+" == nil", p+" != nil"
	}
	badCond, okCond := strings.Join(bad, " || "), strings.Join(good, " && ")
	title := "Guard against nil " + strings.Join(ptrs, ", ")
	why := strings.Join(ptrs, ", ") + " is nil"
	if !s.returnsError() {
		if out, ok := g.zeroRead(s, okCond); ok {
			return Change{Title: title, Content: out}, nil
		}
	}
	var out []byte
	if s.returnsError() {
		exit, imports := g.returnZero(s, why)
		out, err = g.apply([]edit{g.insertBefore(s, "if "+badCond+" {\n"+exit+"\n}")}, imports...)
	} else {
		out, err = g.guard(s, badCond, okCond, why, "")
	}
	if err != nil {
		return Change{}, err
	}
	return Change{Title: title, Content: out}, nil
}

// nilCandidates lists the pointer expressions dereferenced on line,
// shortest first (so `p == nil || p.q == nil` short-circuits). Method
// receivers are assumed non-nil, and parameters are left out when a field
// or local could be the nil one.
func (g *goFile) nilCandidates(s *site, line int) []string {
	type cand struct {
		text  string
		param bool
	}
	var cands []cand
	seen := map[string]bool{}
	add := func(x ast.Expr) {
		x = ast.Unparen(x)
		t := g.typeOf(x)
		if t == nil || hasCall(x) {
			return
		}
		if _, ptr := t.Underlying().(*types.Pointer); !ptr {
			return
		}
		if _, addr := x.(*ast.UnaryExpr); addr {
			return
		}
		id, isIdent := x.(*ast.Ident)
		if isIdent && s.recv != nil && g.info.Uses[id] != nil && g.info.Uses[id] == g.info.Defs[s.recv] {
			return
		}
		txt := g.text(x)
		if !seen[txt] {
			seen[txt] = true
			cands = append(cands, cand{txt, isIdent && g.isParam(s, id)})
		}
	}
	g.onLine(s, line, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if sel := g.info.Selections[n]; sel != nil && sel.Kind() == types.FieldVal {
				add(n.X)
			}
		case *ast.StarExpr:
			add(n.X)
		}
		return false
	})
	var out, params []string
	for _, c := range cands {
		if c.param {
			params = append(params, c.text)
		} else {
			out = append(out, c.text)
		}
	}
	if len(out) == 0 {
		out = params
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}

// zeroRead rewrites `x := expr` into a declaration with the zero value and
// an assignment guarded by ok; other wrappable statements are wrapped.
func (g *goFile) zeroRead(s *site, ok string) ([]byte, bool) {
	as, isAssign := s.stmt.(*ast.AssignStmt)
	if !isAssign || as.Tok != token.DEFINE {
		if wrappable(s.stmt) {
			out, err := g.apply([]edit{g.wrap(s, ok, g.text(s.stmt))})
			return out, err == nil
		}
		return nil, false
	}
	if len(as.Lhs) != 1 || len(as.Rhs) != 1 {
		return nil, false
	}
	id, isIdent := as.Lhs[0].(*ast.Ident)
	if !isIdent || id.Name == "_" {
		return nil, false
	}
	obj := g.info.Defs[id]
	if obj == nil || !validType(obj.Type()) {
		return nil, false
	}
	text := "var " + id.Name + " " + g.typeString(obj.Type()) + "\nif " + ok + " {\n" + id.Name + " = " + g.text(as.Rhs[0]) + "\n}"
	out, err := g.apply([]edit{{g.off(s.stmt.Pos()), g.off(s.stmt.End()), text}})
	return out, err == nil
}
