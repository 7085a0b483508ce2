package codeactions

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var goIndexMsg = regexp.MustCompile(`index out of range \[(-?\d+)\](?: with length (\d+))?`)

// goIndex bounds-checks the index expression that panicked with "index out
// of range". `s[len(s)]` is the classic off-by-one and becomes
// `s[len(s)-1]` behind an emptiness check; any other index is guarded with
// the fitting exit: the statement is skipped when that alone is safe,
// otherwise `continue` inside a loop or an early return.
type goIndex struct{}

func (goIndex) Name() string { return "go-index-bounds" }

func (goIndex) Fix(in Input) (Change, error) {
	if !matches(in, "go", "index out of range") {
		return Change{}, notApplicable("not an index out of range")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	value := int64(-1 << 62)
	if m := goIndexMsg.FindStringSubmatch(in.Incident.Message); m != nil {
		value, _ = strconv.ParseInt(m[1], 10, 64)
	}
	cands := g.onLine(s, in.Line, func(n ast.Node) bool {
		ix, ok := n.(*ast.IndexExpr)
		return ok && g.indexable(ix.X) && !hasCall(ix)
	})
	if len(cands) == 0 {
		if ch, ok := g.hoistIndex(s, in.Line, value); ok {
			return ch, nil
		}
		return Change{}, notApplicable("no slice index on line %d", in.Line)
	}
	if ch, ok := g.offByOne(s, cands); ok {
		return ch, nil
	}
	if value >= 0 {
		if ch, ok := g.growOnStore(s, cands); ok {
			return ch, nil
		}
	}
	var bad, good, names []string
	for _, n := range cands {
		ix := n.(*ast.IndexExpr)
		x, i := g.text(ix.X), g.text(ix.Index)
		if c, isConst := constInt(g, ix.Index); isConst {
			if value >= 0 && c != value {
				continue // this index was not the one out of range
			}
			if c == 0 {
				bad, good = append(bad, "len("+x+") == 0"), append(good, "len("+x+") > 0")
			} else {
				bad, good = append(bad, "len("+x+") <= "+i), append(good, "len("+x+") > "+i)
			}
		} else {
			b, o := i+" >= len("+x+")", i+" < len("+x+")"
			if value < 0 && value != -1<<62 {
				b, o = i+" < 0 || "+b, i+" >= 0 && "+o
			}
			bad, good = append(bad, b), append(good, o)
		}
		names = append(names, g.text(ix))
	}
	if len(bad) == 0 {
		return Change{}, notApplicable("no index on line %d matches the panic", in.Line)
	}
	out, err := g.guard(s, strings.Join(bad, " || "), strings.Join(good, " && "),
		"index out of range: "+strings.Join(names, ", "), "")
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Check the bounds of " + strings.Join(names, ", "), Content: out}, nil
}

// offByOne rewrites `x[len(x)]` to `x[len(x)-1]`, guarded for empty x.
func (g *goFile) offByOne(s *site, cands []ast.Node) (Change, bool) {
	for _, n := range cands {
		ix := n.(*ast.IndexExpr)
		call, ok := ix.Index.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 || g.text(call.Fun) != "len" || g.text(call.Args[0]) != g.text(ix.X) {
			continue
		}
		x := g.text(ix.X)
		stmt := g.text(s.stmt)
		at := g.off(ix.Index.Pos()) - g.off(s.stmt.Pos())
		end := g.off(ix.Index.End()) - g.off(s.stmt.Pos())
		newStmt := stmt[:at] + "len(" + x + ")-1" + stmt[end:]
		out, err := g.guard(s, "len("+x+") == 0", "len("+x+") > 0", x+" is empty", newStmt)
		if err != nil {
			return Change{}, false
		}
		return Change{Title: "Use the last element " + x + "[len(" + x + ")-1] (off by one)", Content: out}, true
	}
	return Change{}, false
}

// growOnStore answers an index panic on a store into a slice the function
// made itself (`out[i/n] = v` after `out := make(...)`): a guard that skips
// the store would drop what was to be kept, so the slice grows to take it.
// The length was computed too small upstream; growing keeps every value.
// A slice the function did not declare (a parameter, a field) is not
// grown: the caller would not see the new one.
func (g *goFile) growOnStore(s *site, cands []ast.Node) (Change, bool) {
	as, ok := s.stmt.(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || s.body == nil {
		return Change{}, false
	}
	ix, ok := as.Lhs[0].(*ast.IndexExpr)
	if !ok || !slices.Contains(cands, ast.Node(ix)) {
		return Change{}, false
	}
	id, ok := ix.X.(*ast.Ident)
	if !ok {
		return Change{}, false
	}
	v, ok := g.info.Uses[id].(*types.Var)
	if !ok || v.Pos() < s.body.Pos() || v.Pos() >= s.body.End() {
		return Change{}, false
	}
	t := g.typeOf(id)
	if t == nil {
		return Change{}, false
	}
	if _, ok := t.Underlying().(*types.Slice); !ok {
		return Change{}, false
	}
	if _, isConst := constInt(g, ix.Index); !isConst && hasCall(ix.Index) {
		return Change{}, false
	}
	typ := types.TypeString(t, types.RelativeTo(g.pkg))
	x, i := id.Name, g.text(ix.Index)
	grow := fmt.Sprintf("if %s >= len(%s) {\n%s = append(%s, make(%s, %s-len(%s)+1)...)\n}\n%s",
		i, x, x, x, typ, i, x, g.text(s.stmt))
	out, err := g.apply([]edit{{g.off(s.stmt.Pos()), g.off(s.stmt.End()), grow}})
	if err != nil {
		return Change{}, false
	}
	return Change{Title: "Grow " + x + " to hold index " + i + " instead of dropping the value", Content: out}, true
}

// indexable reports whether x is a slice, array or string (a map index
// never panics). Unknown types are refused.
func (g *goFile) indexable(x ast.Expr) bool {
	t := g.typeOf(x)
	if t == nil {
		return false
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	switch u := t.Underlying().(type) {
	case *types.Slice, *types.Array:
		return true
	case *types.Basic:
		return u.Info()&types.IsString != 0
	}
	return false
}

func constInt(g *goFile, e ast.Expr) (int64, bool) {
	tv, ok := g.info.Types[e]
	if !ok || tv.Value == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(tv.Value.ExactString(), 10, 64)
	return v, err == nil
}

var goSliceMsg = regexp.MustCompile(`slice bounds out of range \[(\d*):(\d*)\]`)

// goSliceBounds clamps the bound of a slice expression that panicked with
// "slice bounds out of range": `s[:n]` becomes `s[:min(n, len(s))]`, which
// keeps what exists instead of crashing (Go 1.21's min).
type goSliceBounds struct{}

func (goSliceBounds) Name() string { return "go-slice-bounds" }

func (goSliceBounds) Fix(in Input) (Change, error) {
	if !matches(in, "go", "slice bounds out of range") {
		return Change{}, notApplicable("not a slice bounds panic")
	}
	if in.GoVersion != "" && versionLess(in.GoVersion, 1, 21) {
		return Change{}, notApplicable("min needs go 1.21, module is at %s", in.GoVersion)
	}
	m := goSliceMsg.FindStringSubmatch(in.Incident.Message)
	if m == nil || (m[1] != "" && m[2] != "") {
		return Change{}, notApplicable("the panic does not say which bound")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	high := m[2] != ""
	var edits []edit
	var names []string
	for _, n := range g.onLine(s, in.Line, func(n ast.Node) bool { _, ok := n.(*ast.SliceExpr); return ok }) {
		se := n.(*ast.SliceExpr)
		b := se.Low
		if high {
			b = se.High
		}
		// A slice expression that compiled is of a string, slice, array or
		// pointer to array, all of which len takes: the operand's type may
		// stay unknown (a value from another package, which the fixer does
		// not load), and the fix's build check still runs.
		if b == nil || se.Slice3 || hasCall(se.X) || (g.typeOf(se.X) != nil && !g.indexable(se.X)) {
			continue
		}
		x := g.text(se.X)
		edits = append(edits, edit{g.off(b.Pos()), g.off(b.End()), "min(" + g.text(b) + ", len(" + x + "))"})
		names = append(names, g.text(se))
	}
	if len(edits) == 0 {
		return Change{}, notApplicable("no slice expression on line %d", in.Line)
	}
	if g.shadowsMin() {
		return Change{}, notApplicable("min is redefined in the file")
	}
	out, err := g.apply(edits)
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Clamp the slice bound of " + strings.Join(names, ", ") + " to the length", Content: out}, nil
}

func (g *goFile) shadowsMin() bool {
	return g.pkg != nil && g.pkg.Scope().Lookup("min") != nil
}

// versionLess reports whether a go version "1.N[.P]" is below major.minor.
func versionLess(v string, major, minor int) bool {
	parts := strings.Split(strings.TrimPrefix(v, "go"), ".")
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma < major || (ma == major && mi < minor)
}

// hoistIndex guards an index computed by a call (`names[Level(points)]`):
// the check must not call it twice, so its value goes into a variable
// first, which the check and the index then read. Only when no other call
// of the statement would run before it: hoisting must not reorder calls.
func (g *goFile) hoistIndex(s *site, line int, value int64) (Change, bool) {
	switch s.stmt.(type) {
	case *ast.ReturnStmt, *ast.AssignStmt, *ast.ExprStmt, *ast.SendStmt, *ast.DeclStmt:
	default:
		return Change{}, false
	}
	cands := g.onLine(s, line, func(n ast.Node) bool {
		ix, ok := n.(*ast.IndexExpr)
		if !ok || !g.indexable(ix.X) || hasCall(ix.X) {
			return false
		}
		call, ok := ast.Unparen(ix.Index).(*ast.CallExpr)
		return ok && hasCall(call)
	})
	if len(cands) != 1 {
		return Change{}, false
	}
	ix := cands[0].(*ast.IndexExpr)
	call := ast.Unparen(ix.Index)
	if t, ok := g.typeOf(call).(*types.Basic); !ok || t.Info()&types.IsInteger == 0 {
		return Change{}, false
	}
	before := false
	ast.Inspect(s.stmt, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || before || n == call {
			return !before && n != call
		}
		encloses := c.Pos() <= ix.Pos() && ix.End() <= c.End()
		if !encloses && c.Pos() < ix.Pos() && hasCall(c) {
			before = true
		}
		return !before
	})
	if before {
		return Change{}, false
	}
	name := g.freeName(s, "i", "idx", "at", "k")
	if name == "" {
		return Change{}, false
	}
	x := g.text(ix.X)
	stmt := g.text(s.stmt)
	at := g.off(ix.Index.Pos()) - g.off(s.stmt.Pos())
	end := g.off(ix.Index.End()) - g.off(s.stmt.Pos())
	newStmt := stmt[:at] + name + stmt[end:]
	bad, ok := name+" >= len("+x+")", name+" < len("+x+")"
	if value < 0 {
		bad, ok = name+" < 0 || "+bad, name+" >= 0 && "+ok
	}
	out, err := g.guardAfter(s, name+" := "+g.text(ix.Index), bad, ok,
		"index out of range: "+x+"["+g.text(ix.Index)+"]", newStmt)
	if err != nil {
		return Change{}, false
	}
	return Change{Title: "Check the bounds of " + g.text(ix), Content: out}, true
}

// freeName returns the first of names that no identifier of the site's
// function uses, or "".
func (g *goFile) freeName(s *site, names ...string) string {
	if s.body == nil {
		return ""
	}
	used := map[string]bool{}
	ast.Inspect(s.body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	for _, n := range names {
		if !used[n] && g.pkg.Scope().Lookup(n) == nil {
			return n
		}
	}
	return ""
}
