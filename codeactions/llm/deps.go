package llm

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// checkImports rejects a patched file that imports a third-party package
// the original did not and the project does not already depend on. Standard
// library and project-local imports are fine: a fix may need "errors".
func checkImports(in Input, src, patched []byte) error {
	var before, after map[string]bool
	var allowed func(string) bool
	switch language(in) {
	case "go":
		var err error
		if before, err = goImports(src); err != nil {
			return nil // the original does not parse; the validator reports it
		}
		if after, err = goImports(patched); err != nil {
			return fmt.Errorf("%w: patched file does not parse: %v", ErrDoesNotApply, err)
		}
		allowed = goAllowed(in)
	case "python":
		before, after = pyImports(src), pyImports(patched)
		allowed = pyAllowed(in)
	case "node":
		before, after = jsImports(src), jsImports(patched)
		allowed = func(m string) bool {
			return strings.HasPrefix(m, ".") || strings.HasPrefix(m, "node:") || nodeBuiltins[m]
		}
	case "java":
		before, after = javaImports(src), javaImports(patched)
		allowed = javaAllowed(before)
	default:
		return nil
	}
	for imp := range after {
		if !before[imp] && !allowed(imp) {
			return fmt.Errorf("%w: new import %q", ErrDependency, imp)
		}
	}
	return nil
}

func goImports(src []byte) (map[string]bool, error) {
	// A full parse: the patched file must still be Go, not only its imports.
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, is := range f.Imports {
		p, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			return nil, err
		}
		m[p] = true
	}
	return m, nil
}

// goStdRoots are the first path elements of the Go standard library. A
// dot-less path outside it ("evil/pkg") is not standard, whatever its shape.
var goStdRoots = map[string]bool{}

func init() {
	for _, r := range strings.Fields(`archive bufio builtin bytes cmp compress container context crypto
		database debug embed encoding errors expvar flag fmt go hash html image index io iter log maps
		math mime net os path plugin reflect regexp runtime slices sort strconv strings structs sync
		syscall testing text time unicode unique unsafe weak`) {
		goStdRoots[r] = true
	}
}

// goAllowed accepts the standard library, the
// project's own packages and modules its go.mod already requires.
func goAllowed(in Input) func(string) bool {
	modPath, reqs := readGoMod(in)
	return func(imp string) bool {
		first, _, _ := strings.Cut(imp, "/")
		if goStdRoots[first] {
			return true
		}
		if modPath != "" && (imp == modPath || strings.HasPrefix(imp, modPath+"/")) {
			return true
		}
		for _, r := range reqs {
			if imp == r || strings.HasPrefix(imp, r+"/") {
				return true
			}
		}
		return false
	}
}

// readGoMod reads the go.mod nearest above in.File inside in.Root.
func readGoMod(in Input) (modPath string, reqs []string) {
	if in.Root == "" {
		return "", nil
	}
	dir := path.Dir(in.File)
	for {
		name := filepath.Join(in.Root, filepath.FromSlash(dir), "go.mod")
		if data, err := os.ReadFile(name); err == nil {
			mf, err := modfile.ParseLax(name, data, nil)
			if err != nil || mf.Module == nil {
				return "", nil
			}
			for _, r := range mf.Require {
				reqs = append(reqs, r.Mod.Path)
			}
			return mf.Module.Mod.Path, reqs
		}
		if dir == "." || dir == "/" || dir == "" {
			return "", nil
		}
		dir = path.Dir(dir)
	}
}

var (
	pyImportRe = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*)`)
	pyFromRe   = regexp.MustCompile(`(?m)^[ \t]*from[ \t]+(\.*[A-Za-z_]?[\w.]*)[ \t]+import\b`)
)

// pyImports lists the top-level modules a Python file imports (relative
// imports keep their leading dots).
func pyImports(src []byte) map[string]bool {
	m := map[string]bool{}
	for _, g := range pyImportRe.FindAllSubmatch(src, -1) {
		for _, part := range strings.Split(string(g[1]), ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), ".")
			m[name] = true
		}
	}
	for _, g := range pyFromRe.FindAllSubmatch(src, -1) {
		mod := string(g[1])
		if strings.HasPrefix(mod, ".") {
			m[mod] = true
			continue
		}
		name, _, _ := strings.Cut(mod, ".")
		m[name] = true
	}
	return m
}

// pyAllowed accepts the standard library, relative imports and top-level
// packages or modules that exist in the repository.
func pyAllowed(in Input) func(string) bool {
	return func(mod string) bool {
		if strings.HasPrefix(mod, ".") || pyStdlib[mod] {
			return true
		}
		if in.Root == "" {
			return false
		}
		for _, dir := range []string{".", path.Dir(in.File)} {
			base := filepath.Join(in.Root, filepath.FromSlash(dir), mod)
			if st, err := os.Stat(base); err == nil && st.IsDir() {
				return true
			}
			if _, err := os.Stat(base + ".py"); err == nil {
				return true
			}
		}
		return false
	}
}

var jsImportRe = regexp.MustCompile(`(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"'\n]+)["']`)

func jsImports(src []byte) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		for _, g := range jsImportRe.FindAllStringSubmatch(line, -1) {
			m[g[1]] = true
		}
	}
	return m
}

var nodeBuiltins = map[string]bool{
	"assert": true, "buffer": true, "child_process": true, "cluster": true, "crypto": true, "dns": true,
	"events": true, "fs": true, "fs/promises": true, "http": true, "https": true, "net": true, "os": true,
	"path": true, "querystring": true, "readline": true, "stream": true, "string_decoder": true,
	"timers": true, "tls": true, "url": true, "util": true, "zlib": true, "worker_threads": true,
}

var javaImportRe = regexp.MustCompile(`(?m)^\s*import\s+(?:static\s+)?([\w.]+)(?:\.\*)?\s*;`)

func javaImports(src []byte) map[string]bool {
	m := map[string]bool{}
	for _, g := range javaImportRe.FindAllSubmatch(src, -1) {
		m[string(g[1])] = true
	}
	return m
}

// javaAllowed accepts the JDK and packages under a two-segment prefix the
// file already imports from (its own organisation's or a library's it uses).
func javaAllowed(before map[string]bool) func(string) bool {
	prefixes := map[string]bool{}
	for imp := range before {
		prefixes[javaPrefix(imp)] = true
	}
	return func(imp string) bool {
		return strings.HasPrefix(imp, "java.") || strings.HasPrefix(imp, "javax.") || prefixes[javaPrefix(imp)]
	}
}

func javaPrefix(imp string) string {
	parts := strings.SplitN(imp, ".", 3)
	if len(parts) < 2 {
		return imp
	}
	return parts[0] + "." + parts[1]
}
