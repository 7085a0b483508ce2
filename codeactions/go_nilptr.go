package codeactions

import (
	"fmt"
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
		if out, ok := g.zeroFields(s, ptrs); ok {
			return Change{Title: "Read the fields of nil " + strings.Join(ptrs, ", ") + " as zero", Content: out}, nil
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
// zeroFields answers a return that reads plain fields (numbers, strings,
// booleans) through pointers that may be nil, such as a sort comparator's
// `return cmp.Compare(b.Streak.Wins, a.Streak.Wins)`: each field is read
// into a local that keeps its zero value when its pointer is nil, so a
// missing streak counts as no wins, where returning early would have
// answered "equal" for every such pair. Only when the pointers are used
// for nothing else in the statement.
func (g *goFile) zeroFields(s *site, ptrs []string) ([]byte, bool) {
	ret, ok := s.stmt.(*ast.ReturnStmt)
	if !ok || s.body == nil {
		return nil, false
	}
	isPtr := map[string]bool{}
	for _, p := range ptrs {
		isPtr[p] = true
	}
	type read struct {
		sel  *ast.SelectorExpr
		name string
	}
	var reads []read
	other := false
	ast.Inspect(ret, func(n ast.Node) bool {
		if other {
			return false
		}
		if sel, ok := n.(*ast.SelectorExpr); ok && isPtr[g.text(sel.X)] {
			v, isField := g.info.Uses[sel.Sel].(*types.Var)
			b, basic := g.typeOf(sel).Underlying().(*types.Basic)
			if !isField || !v.IsField() || !basic || b.Kind() == types.UntypedNil {
				other = true
				return false
			}
			reads = append(reads, read{sel: sel})
			return false
		}
		if e, ok := n.(ast.Expr); ok && isPtr[g.text(e)] {
			other = true // the pointer itself is used: passed, compared, called
		}
		return true
	})
	if other || len(reads) == 0 {
		return nil, false
	}
	used := map[string]bool{}
	var pre strings.Builder
	stmt := g.text(ret)
	base := g.off(ret.Pos())
	type repl struct {
		from, to int
		name     string
	}
	var repls []repl
	for i := range reads {
		r := &reads[i]
		root := r.sel.X
		for {
			if sx, ok := root.(*ast.SelectorExpr); ok {
				root = sx.X
				continue
			}
			break
		}
		prefix := "v"
		if id, ok := root.(*ast.Ident); ok {
			prefix = id.Name
		}
		field := r.sel.Sel.Name
		cand := prefix + strings.ToUpper(field[:1]) + field[1:]
		name := ""
		for k := 0; k < 10 && name == ""; k++ {
			try := cand
			if k > 0 {
				try = cand + string(rune('0'+k))
			}
			if !used[try] && g.freeName(s, try) != "" {
				name = try
			}
		}
		if name == "" {
			return nil, false
		}
		used[name] = true
		r.name = name
		// Every pointer on the way may be nil: sub, then sub.Endpoint.
		x := g.text(r.sel.X)
		var conds []string
		for _, p := range ptrs {
			if p == x || strings.HasPrefix(x, p+".") {
				conds = append(conds, p+" != nil")
			}
		}
		fmt.Fprintf(&pre, "var %s %s\nif %s {\n%s = %s\n}\n", name, g.typeString(g.typeOf(r.sel)), strings.Join(conds, " && "), name, g.text(r.sel))
		repls = append(repls, repl{g.off(r.sel.Pos()) - base, g.off(r.sel.End()) - base, name})
	}
	sort.Slice(repls, func(i, j int) bool { return repls[i].from > repls[j].from })
	for _, r := range repls {
		stmt = stmt[:r.from] + r.name + stmt[r.to:]
	}
	out, err := g.apply([]edit{{g.off(ret.Pos()), g.off(ret.End()), pre.String() + stmt}})
	return out, err == nil
}

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
