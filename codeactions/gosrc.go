package codeactions

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// goFile is a parsed Go file with what type information the package alone
// gives: imports are not loaded (their objects are unknown), so types from
// other packages are invalid while the package's own types are exact.
type goFile struct {
	fset *token.FileSet
	file *ast.File
	src  []byte
	pkg  *types.Package
	info *types.Info
}

func parseGo(in Input) (*goFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, in.Path, in.Content, parser.ParseComments)
	if err != nil {
		return nil, notApplicable("parse %s: %v", in.Path, err)
	}
	files := []*ast.File{f}
	if in.Dir != nil {
		files = append(files, siblingFiles(fset, in.Dir, path.Base(in.Path), f.Name.Name)...)
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{Importer: emptyImporter{}, Error: func(error) {}, FakeImportC: true}
	pkg, _ := conf.Check(f.Name.Name, fset, files, info) // errors expected: imports are empty
	return &goFile{fset: fset, file: f, src: in.Content, pkg: pkg, info: info}, nil
}

// siblingFiles parses the other non-test files of the same package.
func siblingFiles(fset *token.FileSet, dir fs.FS, self, pkgName string) []*ast.File {
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil
	}
	var out []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == self || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		data, err := fs.ReadFile(dir, n)
		if err != nil {
			continue
		}
		f, err := parser.ParseFile(fset, n, data, 0)
		if err != nil || f.Name.Name != pkgName {
			continue
		}
		out = append(out, f)
	}
	return out
}

// emptyImporter returns empty packages: the rules need the types the
// package declares, not those of its dependencies, and loading those would
// cost a build. A few standard functions that return slices are declared
// (stdStubs), so that `kv := strings.Split(s, ":")` is known to be one and
// its index can be bounds-checked.
type emptyImporter struct{}

func (emptyImporter) Import(p string) (*types.Package, error) {
	if src, ok := stdStubs[p]; ok {
		fset := token.NewFileSet()
		if f, err := parser.ParseFile(fset, p+".go", src, 0); err == nil {
			conf := types.Config{Error: func(error) {}}
			if pkg, err := conf.Check(p, fset, []*ast.File{f}, nil); err == nil {
				return pkg, nil
			}
		}
	}
	pkg := types.NewPackage(p, path.Base(p))
	pkg.MarkComplete()
	return pkg, nil
}

// stdStubs declares the standard functions and variables returning slices
// that crashing code most often indexes without a length check.
var stdStubs = map[string]string{
	"strings": `package strings
func Split(s, sep string) []string
func SplitN(s, sep string, n int) []string
func SplitAfter(s, sep string) []string
func SplitAfterN(s, sep string, n int) []string
func Fields(s string) []string
func FieldsFunc(s string, f func(rune) bool) []string
`,
	"bytes": `package bytes
func Split(s, sep []byte) [][]byte
func SplitN(s, sep []byte, n int) [][]byte
func Fields(s []byte) [][]byte
`,
	"os": `package os
var Args []string
`,
	"flag": `package flag
func Args() []string
`,
	"path/filepath": `package filepath
func SplitList(path string) []string
`,
}

func (g *goFile) line(n ast.Node) int { return g.fset.Position(n.Pos()).Line }
func (g *goFile) off(p token.Pos) int { return g.fset.Position(p).Offset }
func (g *goFile) text(n ast.Node) string {
	return string(g.src[g.off(n.Pos()):g.off(n.End())])
}

// typeOf returns the type of e, or nil when unknown.
func (g *goFile) typeOf(e ast.Expr) types.Type {
	t := g.info.TypeOf(e)
	if t == nil || !validType(t) {
		return nil
	}
	return t
}

// validType reports whether t is fully known (no invalid parts).
func validType(t types.Type) bool {
	return !strings.Contains(types.TypeString(t, nil), "invalid type")
}

// typeString prints t as the file's package would write it.
func (g *goFile) typeString(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string {
		if g.pkg != nil && p.Path() == g.pkg.Path() {
			return ""
		}
		return p.Name()
	})
}

// site is the crashing statement: a member of a statement list, so that a
// guard can go before it or the statement can be wrapped.
type site struct {
	stmt   ast.Stmt
	fn     ast.Node       // *ast.FuncDecl or *ast.FuncLit
	ftype  *ast.FuncType  // signature of fn
	inLoop bool           // a for/range loop lies between fn and stmt
	stack  []ast.Node     // from the file down to stmt
	recv   *ast.Ident     // method receiver name, when fn is a method
	body   *ast.BlockStmt // fn's body
}

// siteAt finds the innermost list statement containing line.
func (g *goFile) siteAt(line int) (*site, error) {
	var best *site
	var stack []ast.Node
	ast.Inspect(g.file, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		s, ok := n.(ast.Stmt)
		if !ok || len(stack) < 2 {
			return true
		}
		start, end := g.line(n), g.fset.Position(n.End()).Line
		if line < start || line > end || !inList(stack[len(stack)-2]) {
			return true
		}
		if _, isBlock := s.(*ast.BlockStmt); isBlock {
			return true
		}
		best = &site{stmt: s, stack: append([]ast.Node(nil), stack...)}
		return true
	})
	if best == nil {
		return nil, notApplicable("no statement on line %d", line)
	}
	for i := len(best.stack) - 2; i >= 0; i-- {
		switch n := best.stack[i].(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			if best.fn == nil {
				best.inLoop = true
			}
		case *ast.FuncLit:
			if best.fn == nil {
				best.fn, best.ftype, best.body = n, n.Type, n.Body
			}
		case *ast.FuncDecl:
			if best.fn == nil {
				best.fn, best.ftype, best.body = n, n.Type, n.Body
				if n.Recv != nil && len(n.Recv.List) == 1 && len(n.Recv.List[0].Names) == 1 {
					best.recv = n.Recv.List[0].Names[0]
				}
			}
		}
	}
	if best.fn == nil {
		return nil, notApplicable("line %d is not inside a function", line)
	}
	return best, nil
}

func inList(parent ast.Node) bool {
	switch parent.(type) {
	case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
		return true
	}
	return false
}

// onLine returns the expressions of the site's statement that start on line
// and satisfy keep, in source order. For compound statements only the
// header is searched (bodies hold other statements).
func (g *goFile) onLine(s *site, line int, keep func(ast.Node) bool) []ast.Node {
	var out []ast.Node
	ast.Inspect(s.stmt, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		if _, ok := n.(*ast.BlockStmt); ok && n != s.stmt {
			return false
		}
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if g.line(n) == line && keep(n) {
			out = append(out, n)
		}
		return true
	})
	return out
}

// isParam reports whether id names a parameter or the receiver of the
// site's function.
func (g *goFile) isParam(s *site, id *ast.Ident) bool {
	obj := g.info.Uses[id]
	if obj == nil {
		return false
	}
	found := false
	for _, fl := range []*ast.FieldList{s.ftype.Params, recvList(s.fn)} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				if g.info.Defs[n] == obj {
					found = true
				}
			}
		}
	}
	return found
}

func recvList(fn ast.Node) *ast.FieldList {
	if d, ok := fn.(*ast.FuncDecl); ok {
		return d.Recv
	}
	return nil
}

// hasCall reports whether e contains a function call other than len/cap,
// which a guard must not evaluate twice.
func hasCall(e ast.Node) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); !ok || (id.Name != "len" && id.Name != "cap") {
				found = true
			}
		}
		return !found
	})
	return found
}

// edit is a pending change of the source: replace [start,end) by text.
type edit struct {
	start, end int
	text       string
}

// apply applies non-overlapping edits, adds imports and formats the file.
func (g *goFile) apply(edits []edit, imports ...string) ([]byte, error) {
	out := g.src
	// apply from the end so offsets stay valid
	for i := len(edits) - 1; i >= 0; i-- {
		for j := 0; j < i; j++ {
			if edits[j].start > edits[i].start {
				edits[i], edits[j] = edits[j], edits[i]
			}
		}
	}
	for i := len(edits) - 1; i >= 0; i-- {
		out = replaceRange(out, edits[i].start, edits[i].end, edits[i].text)
	}
	if len(imports) > 0 {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "", out, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("fixed source does not parse: %w", err)
		}
		for _, imp := range imports {
			astutil.AddImport(fset, f, imp)
		}
		var buf bytes.Buffer
		if err := format.Node(&buf, fset, f); err != nil {
			return nil, fmt.Errorf("print fixed source: %w", err)
		}
		out = buf.Bytes()
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("fixed source does not format: %w", err)
	}
	return formatted, nil
}

// insertBefore returns the edit that puts text on its own lines before the
// site's statement.
func (g *goFile) insertBefore(s *site, text string) edit {
	start := g.off(s.stmt.Pos())
	return edit{start, start, text + "\n"}
}

// wrap returns the edit that puts the statement inside `if cond { ... }`.
func (g *goFile) wrap(s *site, cond, stmtText string) edit {
	return edit{g.off(s.stmt.Pos()), g.off(s.stmt.End()), "if " + cond + " {\n" + stmtText + "\n}"}
}
