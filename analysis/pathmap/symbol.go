package pathmap

import (
	"bytes"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// maxRead bounds how much of one file a symbol check reads: a definition
// past 4 MiB of a source file is not worth the memory.
const maxRead = 4 << 20

// maxName bounds the function names looked for: a longer one is log noise,
// and compiling it into a pattern would cost more than the tie is worth.
const maxName = 200

// read returns the contents of a workspace file, reading it at most once.
// Reads go through os.Root, so a file swapped for a symlink out of the
// workspace after indexing is refused rather than read.
func (m *Mapper) read(file string) []byte {
	m.mu.Lock()
	data, ok := m.content[file]
	m.mu.Unlock()
	if ok {
		return data
	}
	f, err := m.fsRoot.Open(filepath.FromSlash(file))
	if err == nil {
		data, _ = io.ReadAll(io.LimitReader(f, maxRead))
		f.Close()
	}
	if data == nil {
		data = []byte{} // remember failures too
	}
	m.mu.Lock()
	m.content[file] = data
	m.mu.Unlock()
	return data
}

var ident = regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]*$`)

// funcName extracts the bare function (or, for constructors, class) name a
// definition in a source file would carry. ctor reports a constructor, for
// which the class declaration is looked for. "" means nothing checkable
// (anonymous functions, module level code).
func funcName(language, fn string) (name string, ctor bool) {
	fn = strings.TrimSpace(fn)
	switch language {
	case "go":
		name = goFuncName(fn)
	case "java", "kotlin":
		name, ctor = javaFuncName(fn)
	case "python":
		name = lastDot(fn)
	case "node":
		fn = strings.TrimPrefix(fn, "async ")
		if strings.HasPrefix(fn, "new ") {
			fn, ctor = strings.TrimPrefix(fn, "new "), true
		}
		if i := strings.Index(fn, " [as "); i >= 0 {
			fn = fn[:i]
		}
		name = lastDot(fn)
		// An accessor: "get total [as total]", "Invoice.set total".
		for _, kw := range []string{"get ", "set "} {
			name = strings.TrimPrefix(name, kw)
		}
	}
	if len(name) > maxName || !ident.MatchString(name) {
		return "", false
	}
	return name, ctor
}

func lastDot(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}

var goGenerated = regexp.MustCompile(`^(func\d+|gowrap\d+|deferwrap\d+|\d+)$`)

// goFuncName: "github.com/acme/shop/cart.(*Cart[...]).Total.func1" -> "Total".
func goFuncName(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	_, rest, ok := strings.Cut(fn, ".") // drop the package name
	if !ok {
		return ""
	}
	rest = strings.ReplaceAll(rest, "[...]", "")
	parts := strings.Split(rest, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if p == "" || goGenerated.MatchString(p) || strings.HasPrefix(p, "(") {
			continue
		}
		return p
	}
	return ""
}

// javaFuncName: "com.acme.Cart.total" -> "total"; "lambda$total$0" ->
// "total"; "com.acme.Cart.<init>" and "com.acme.Cart.<clinit>" -> ("Cart",
// ctor): both are code of the class declaration.
func javaFuncName(fn string) (string, bool) {
	if i := strings.IndexByte(fn, '('); i >= 0 {
		fn = fn[:i]
	}
	method := lastDot(fn)
	switch {
	case method == "<init>" || method == "<clinit>": // constructor, static initializer
		cls := lastDot(strings.TrimSuffix(strings.TrimSuffix(fn, ".<init>"), ".<clinit>"))
		if i := strings.LastIndexByte(cls, '$'); i >= 0 {
			cls = cls[i+1:]
		}
		return cls, true
	case strings.HasPrefix(method, "lambda$"):
		parts := strings.Split(method, "$")
		if len(parts) >= 2 {
			return parts[1], false
		}
	}
	if i := strings.IndexByte(method, '$'); i > 0 { // total$default (Kotlin)
		method = method[:i]
	}
	return method, false
}

// definer finds definitions of one function in files. It is nil when the
// function name gives nothing to look for (anonymous, module level).
type definer struct {
	re   *regexp.Regexp
	java bool
}

func newDefiner(language, fn string) *definer {
	name, ctor := funcName(language, fn)
	if name == "" {
		return nil
	}
	re := definitionPattern(language, name, ctor)
	if re == nil {
		return nil
	}
	return &definer{re: re, java: language == "java" || language == "kotlin"}
}

// in reports whether data defines the function.
func (d *definer) in(data []byte) bool {
	if !d.java {
		return d.re.Match(data)
	}
	for _, sub := range d.re.FindAllSubmatch(data, -1) {
		if len(sub) > 1 && javaNotType[string(sub[1])] {
			continue // "return total(" is a call, not a definition
		}
		return true
	}
	return false
}

var javaNotType = map[string]bool{"return": true, "new": true, "throw": true, "else": true, "case": true, "yield": true, "await": true, "assert": true}

// definitionPattern builds the regular expression of a definition of name.
// The patterns are deliberately loose (no parser per language): they only
// break ties between files that already match the frame path equally well.
func definitionPattern(language, name string, ctor bool) *regexp.Regexp {
	n := regexp.QuoteMeta(name)
	var expr string
	switch {
	case ctor:
		expr = `\b(?:class|struct|record|object)\s+` + n + `\b`
	case language == "go":
		expr = `(?m)^func\s*(?:\([^)]*\)\s*)?` + n + `\s*[\[(]`
	case language == "python":
		// A frame in a class body (run at import) is named after the class.
		expr = `(?m)^\s*(?:(?:async\s+)?def\s+` + n + `\s*\(|class\s+` + n + `\b)`
	case language == "java" || language == "kotlin":
		expr = `(?m)(?:\bfun\s+(?:<[^>]*>\s*)?(?:[\w.]+\.)?` + n + `\s*\()|(?:([\w$]+)(?:<[^;{}()]*>)?(?:\[\])*\s+` + n + `\s*\()`
	case language == "node":
		expr = `(?m)(?:\bfunction\s*\*?\s*` + n + `\s*\()` +
			`|(?:^\s*(?:(?:static|async|get|set|public|private|protected)\s+)*\*?\s*` + n + `\s*\([^)]*\)\s*(?::[^{\n]*)?\{)` +
			`|(?:\b` + n + `\s*[:=]\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*=>|[\w$]+\s*=>))`
	default:
		return nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil
	}
	return re
}

// generatedName lists file-name patterns of generated code.
var generatedName = regexp.MustCompile(`(\.pb\.go|\.pb\.gw\.go|_gen\.go|_pb2(_grpc)?\.pyi?|\.generated\.[a-z]+|_generated\.[a-z]+)$|^zz_generated`)

var goGeneratedHeader = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// thirdParty reports why a mapped file is not application code, or "".
func (m *Mapper) thirdParty(file string) string {
	segs := strings.Split(file, "/")
	for _, s := range segs[:len(segs)-1] {
		switch s {
		case "vendor", "node_modules", "third_party", "third-party":
			return "it is third-party code (" + s + "/)"
		}
	}
	base := path.Base(file)
	if generatedName.MatchString(base) {
		return "it is generated code (" + base + ")"
	}
	if strings.HasSuffix(base, ".go") {
		data := m.read(file)
		head := data
		if i := bytes.Index(data, []byte("\npackage ")); i >= 0 {
			head = data[:i]
		}
		if goGeneratedHeader.Match(head) {
			return "it is generated code (Code generated ... DO NOT EDIT)"
		}
	}
	return ""
}
