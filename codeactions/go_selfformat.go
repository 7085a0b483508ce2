package codeactions

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
)

// goFormatMethods are the methods fmt calls to format a value.
var goFormatMethods = map[string]bool{"Error": true, "String": true, "GoString": true}

// goFmtCalls are the fmt functions that format their arguments.
var goFmtCalls = map[string]bool{"Sprintf": true, "Sprint": true, "Sprintln": true, "Errorf": true,
	"Printf": true, "Print": true, "Println": true, "Fprintf": true, "Fprint": true, "Fprintln": true,
	"Appendf": true, "Append": true, "Appendln": true}

// goSelfFormat fixes the stack overflow of an Error or String method that
// hands its own receiver to fmt ("%v", e): fmt calls the method again,
// forever. The receiver is formatted as a type with the same fields and
// no methods, declared in the method (`type plain T`), the idiom go vet's
// printf check suggests.
type goSelfFormat struct{}

func (goSelfFormat) Name() string { return "go-self-format" }

func (goSelfFormat) Fix(in Input) (Change, error) {
	if !matches(in, "go", "stack overflow", "goroutine stack exceeds") {
		return Change{}, notApplicable("not a stack overflow")
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, in.Path, in.Content, parser.ParseComments)
	if err != nil {
		return Change{}, notApplicable("parse %s: %v", in.Path, err)
	}
	var fn *ast.FuncDecl
	for _, d := range f.Decls {
		if d, ok := d.(*ast.FuncDecl); ok && d.Body != nil &&
			fset.Position(d.Pos()).Line <= in.Line && in.Line <= fset.Position(d.End()).Line {
			fn = d
		}
	}
	if fn == nil || fn.Recv == nil || len(fn.Recv.List) != 1 || len(fn.Recv.List[0].Names) != 1 ||
		!goFormatMethods[fn.Name.Name] || fn.Type.Params.NumFields() != 0 {
		return Change{}, notApplicable("line %d is not in an Error or String method", in.Line)
	}
	recv := fn.Recv.List[0].Names[0].Name
	typ, ptr := fn.Recv.List[0].Type, false
	if s, ok := typ.(*ast.StarExpr); ok {
		typ, ptr = s.X, true
	}
	tname, ok := typ.(*ast.Ident)
	if !ok { // a generic receiver (T[K]) would need its type parameters
		return Change{}, notApplicable("receiver type of %s is not a plain name", fn.Name.Name)
	}
	const plain = "plain"
	type edit struct {
		at, end int
		text    string
	}
	var edits []edit
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || fset.Position(call.Pos()).Line > in.Line || fset.Position(call.End()).Line < in.Line {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if x, isID := sel.X.(*ast.Ident); !ok || !isID || x.Name != "fmt" || !goFmtCalls[sel.Sel.Name] {
			return true
		}
		for _, a := range call.Args {
			var repl string
			switch a := a.(type) {
			case *ast.Ident:
				if a.Name != recv {
					continue
				}
				repl = plain + "(" + recv + ")"
				if ptr {
					repl = "(*" + plain + ")(" + recv + ")"
				}
			case *ast.StarExpr:
				if x, ok := a.X.(*ast.Ident); !ok || x.Name != recv || !ptr {
					continue
				}
				repl = plain + "(*" + recv + ")"
			default:
				continue
			}
			edits = append(edits, edit{fset.Position(a.Pos()).Offset, fset.Position(a.End()).Offset, repl})
		}
		return true
	})
	if len(edits) == 0 {
		return Change{}, notApplicable("no fmt call on line %d formats the receiver %s", in.Line, recv)
	}
	indent := "\t"
	if len(fn.Body.List) > 0 {
		if l, err := lineOf(Input{Content: in.Content, Line: fset.Position(fn.Body.List[0].Pos()).Line, Path: in.Path}); err == nil {
			indent = l.indent
		}
	}
	brace := fset.Position(fn.Body.Lbrace).Offset + 1
	edits = append(edits, edit{brace, brace, "\n" + indent + "type " + plain + " " + tname.Name + " // without its methods, or fmt calls " + fn.Name.Name + " again"})
	sort.Slice(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	out := append([]byte(nil), in.Content...)
	for _, e := range edits {
		out = replaceRange(out, e.at, e.end, e.text)
	}
	return Change{Title: "Format " + recv + " without its " + fn.Name.Name + " method (fmt calls it again)",
		Content: out}, nil
}
