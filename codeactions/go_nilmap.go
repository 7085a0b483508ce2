package codeactions

import (
	"go/ast"
	"go/token"
	"go/types"
)

// goNilMap initialises a nil map right before the write that panicked with
// "assignment to entry in nil map". When the map is a local variable read
// from another map (`m := outer[k]`), the new map is stored back there too,
// so that the write is not lost.
type goNilMap struct{}

func (goNilMap) Name() string { return "go-nil-map" }

func (goNilMap) Fix(in Input) (Change, error) {
	if !matches(in, "go", "assignment to entry in nil map") {
		return Change{}, notApplicable("not a nil map write")
	}
	g, s, err := siteFor(in)
	if err != nil {
		return Change{}, err
	}
	target := mapWriteTarget(g, s.stmt)
	if target == nil {
		return Change{}, notApplicable("no map write on line %d", in.Line)
	}
	t := g.typeOf(target)
	if t == nil || hasCall(target) {
		return Change{}, notApplicable("the map's type is unknown")
	}
	m := g.text(target)
	text := "if " + m + " == nil {\n" + m + " = make(" + g.typeString(t) + ")\n"
	if back := g.storeBack(s, target); back != "" {
		text += back + " = " + m + "\n"
	}
	text += "}"
	out, err := g.apply([]edit{g.insertBefore(s, text)})
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Initialise the map " + m + " before writing to it", Content: out}, nil
}

// mapWriteTarget returns the map expression written by st (`m[k] = v`,
// `m[k] += v`, `m[k]++`), nil when st writes no map.
func mapWriteTarget(g *goFile, st ast.Stmt) ast.Expr {
	var lhs []ast.Expr
	switch st := st.(type) {
	case *ast.AssignStmt:
		if st.Tok != token.DEFINE {
			lhs = st.Lhs
		}
	case *ast.IncDecStmt:
		lhs = []ast.Expr{st.X}
	}
	for _, l := range lhs {
		ix, ok := ast.Unparen(l).(*ast.IndexExpr)
		if !ok {
			continue
		}
		if t := g.typeOf(ix.X); t != nil {
			if _, isMap := t.Underlying().(*types.Map); isMap {
				return ix.X
			}
		}
	}
	return nil
}

// storeBack finds `m := outer[k]` (or `m = outer[k]`) for the local map m
// earlier in the function and returns "outer[k]", the place the new map
// must be stored for the write to last.
func (g *goFile) storeBack(s *site, target ast.Expr) string {
	id, ok := target.(*ast.Ident)
	if !ok {
		return ""
	}
	obj := g.info.Uses[id]
	if obj == nil {
		return ""
	}
	var src string
	ast.Inspect(s.body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || as.Pos() >= s.stmt.Pos() || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		lid, ok := as.Lhs[0].(*ast.Ident)
		if !ok || (g.info.Defs[lid] != obj && g.info.Uses[lid] != obj) {
			return true
		}
		src = ""
		if ix, ok := as.Rhs[0].(*ast.IndexExpr); ok && !hasCall(ix) {
			if t := g.typeOf(ix.X); t != nil {
				if _, isMap := t.Underlying().(*types.Map); isMap {
					src = g.text(ix)
				}
			}
		}
		return true
	})
	return src
}
