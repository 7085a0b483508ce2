package codeactions

import (
	"fmt"
	"go/ast"
	"go/types"
	"strconv"
	"strings"
)

// zeroValue returns the zero value of a result type as source: exact when
// the package's types know it, otherwise from the syntax, with `*new(T)` as
// the form that is right for any T.
func (g *goFile) zeroValue(expr ast.Expr) string {
	if t := g.typeOf(expr); t != nil {
		if z := zeroOf(t, g.typeString(t)); z != "" {
			return z
		}
	}
	switch e := expr.(type) {
	case *ast.StarExpr, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType:
		return "nil"
	case *ast.ArrayType:
		if e.Len == nil {
			return "nil"
		}
	case *ast.Ident:
		switch e.Name {
		case "string":
			return `""`
		case "bool":
			return "false"
		case "error", "any":
			return "nil"
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
			"uintptr", "byte", "rune", "float32", "float64", "complex64", "complex128":
			return "0"
		}
	}
	return "*new(" + g.text(expr) + ")"
}

func zeroOf(t types.Type, name string) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsBoolean != 0:
			return "false"
		case u.Info()&types.IsString != 0:
			return `""`
		case u.Info()&types.IsNumeric != 0:
			return "0"
		case u.Kind() == types.UnsafePointer:
			return "nil"
		}
	case *types.Pointer, *types.Slice, *types.Map, *types.Chan, *types.Signature, *types.Interface:
		return "nil"
	case *types.Struct, *types.Array:
		return name + "{}"
	}
	return ""
}

// results lists the result type expressions of the site's function, one
// per value (a field `a, b int` gives two).
func (s *site) results() []ast.Expr {
	if s.ftype.Results == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range s.ftype.Results.List {
		n := len(f.Names)
		if n == 0 {
			n = 1
		}
		for range n {
			out = append(out, f.Type)
		}
	}
	return out
}

// returnsError reports whether the function's last result is `error`.
func (s *site) returnsError() bool {
	r := s.results()
	if len(r) == 0 {
		return false
	}
	id, ok := r[len(r)-1].(*ast.Ident)
	return ok && id.Name == "error"
}

// funcName names the site's function for error messages.
func (s *site) funcName() string {
	if d, ok := s.fn.(*ast.FuncDecl); ok {
		return d.Name.Name
	}
	return "func"
}

// returnZero returns the statement leaving the function with zero values,
// and an error saying why when the last result is error. It also returns
// the imports that statement needs.
func (g *goFile) returnZero(s *site, why string) (string, []string) {
	res := s.results()
	if len(res) == 0 {
		return "return", nil
	}
	vals := make([]string, len(res))
	for i, r := range res {
		vals[i] = g.zeroValue(r)
	}
	var imports []string
	if s.returnsError() {
		if sentinel := g.sentinelError(s); sentinel != "" {
			// The function already says how it fails for a missing
			// value (return nil, ErrNotFound): its callers check for
			// that error, so the guard returns it too.
			vals[len(vals)-1] = sentinel
			return "return " + strings.Join(vals, ", "), nil
		}
		vals[len(vals)-1] = "errors.New(" + strconv.Quote(s.funcName()+": "+why) + ")"
		if !g.imports("errors") {
			imports = append(imports, "errors")
		}
	}
	return "return " + strings.Join(vals, ", "), imports
}

// isSentinelName reports whether name follows Go's convention for an
// error variable: Err, then an exported word (ErrNotFound).
func isSentinelName(name string) bool {
	return len(name) > 3 && strings.HasPrefix(name, "Err") && name[3] >= 'A' && name[3] <= 'Z'
}

// sentinelError returns the one package-level error variable (ErrNotFound,
// store.ErrNotFound) that the site's function returns as its error, or ""
// when it returns none or several.
func (g *goFile) sentinelError(s *site) string {
	if s.body == nil {
		return ""
	}
	found := ""
	several := false
	ast.Inspect(s.body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false // a closure's returns are not the function's
		}
		ret, ok := n.(*ast.ReturnStmt)
		if !ok || len(ret.Results) == 0 {
			return true
		}
		last := ret.Results[len(ret.Results)-1]
		var id *ast.Ident
		switch e := last.(type) {
		case *ast.Ident:
			id = e
		case *ast.SelectorExpr:
			id = e.Sel
		default:
			return true
		}
		if !isSentinelName(id.Name) {
			return true
		}
		switch obj := g.info.Uses[id].(type) {
		case nil:
			// Another package of the module, which the check could not
			// load: Go's naming convention (ErrNotFound) has to do.
		case *types.Var:
			if obj.Pkg() != nil && obj.Parent() != nil && obj.Parent() != obj.Pkg().Scope() {
				return true // a local variable named so
			}
		default:
			return true
		}
		if text := g.text(last); found == "" {
			found = text
		} else if found != text {
			several = true
		}
		return true
	})
	if several {
		return ""
	}
	return found
}

// exit is how a guard leaves the crashing statement: `continue` inside a
// loop (the other iterations still run) unless the statement returns, or
// an early return.
func (g *goFile) exit(s *site, why string) (string, []string) {
	if _, isReturn := s.stmt.(*ast.ReturnStmt); s.inLoop && !isReturn && !s.returnsError() {
		return "continue", nil
	}
	return g.returnZero(s, why)
}

func (g *goFile) imports(p string) bool {
	for _, imp := range g.file.Imports {
		if v, _ := strconv.Unquote(imp.Path.Value); v == p {
			return true
		}
	}
	return false
}

// wrappable reports whether skipping the statement alone keeps the
// function correct: a plain assignment, call or increment whose effect can
// be left out without leaving a variable undeclared or a result unreturned.
func wrappable(st ast.Stmt) bool {
	switch st := st.(type) {
	case *ast.AssignStmt:
		return st.Tok.String() != ":="
	case *ast.ExprStmt, *ast.IncDecStmt, *ast.SendStmt:
		return true
	}
	return false
}

// guard protects the site's statement: bad is the condition under which it
// would crash, ok its negation. A statement that can simply be skipped is
// wrapped in `if ok {}`; otherwise `if bad { exit }` goes before it.
// newStmt replaces the statement's text (empty: unchanged).
func (g *goFile) guard(s *site, bad, ok, why, newStmt string) ([]byte, error) {
	return g.guardAfter(s, "", bad, ok, why, newStmt)
}

// guardAfter is guard with pre, a statement that the check needs (a
// value computed once), put before it.
func (g *goFile) guardAfter(s *site, pre, bad, ok, why, newStmt string) ([]byte, error) {
	text := newStmt
	if text == "" {
		text = g.text(s.stmt)
	}
	if pre != "" {
		pre += "\n"
	}
	if wrappable(s.stmt) {
		e := g.wrap(s, ok, text)
		e.text = pre + e.text
		return g.apply([]edit{e})
	}
	exit, imports := g.exit(s, why)
	e := edit{g.off(s.stmt.Pos()), g.off(s.stmt.End()), fmt.Sprintf("%sif %s {\n%s\n}\n%s", pre, bad, exit, text)}
	return g.apply([]edit{e}, imports...)
}

// siteFor parses the input and finds the crashing statement.
func siteFor(in Input) (*goFile, *site, error) {
	g, err := parseGo(in)
	if err != nil {
		return nil, nil, err
	}
	s, err := g.siteAt(in.Line)
	if err != nil {
		return nil, nil, err
	}
	return g, s, nil
}
