package pathmap

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// index is the workspace as the Mapper sees it, built once by New.
type index struct {
	files  []string         // repo-relative, forward slashes, sorted
	segs   [][]string       // segments of each file, for suffix matching
	exists map[string]bool  // file -> true
	byBase map[string][]int // base name -> indexes into files
	// modules are the Go modules declared by go.mod files (nested ones
	// too), longest module path first so the most specific wins.
	modules []goModule
	// goWork lists the module folders a go.work at the root uses.
	goWork map[string]bool
	// localReplaced lists module paths some workspace go.mod replaces with
	// a folder of the workspace (replace m => ../shared): -trimpath prints
	// their files as "m@v0.0.0/...", like the module cache, yet they are
	// the workspace's code.
	localReplaced map[string]bool
	// sourceRoots are folders that relative production paths are relative
	// to: Java/Kotlin source roots, Python package roots, package.json and
	// go.mod folders. "" is the workspace root. Value says which kind.
	sourceRoots map[string]string
	// nodePackages are the workspace's own Node packages, by the name
	// their package.json gives ("@acme/lib" -> "packages/lib/"): a copy
	// of one installed into node_modules is the workspace's code. A name
	// two package.json files claim maps to "".
	nodePackages map[string]string
	// libDirs are vendor/ and node_modules/ folders, left out of the file
	// index but remembered so library frames can still point at them.
	libDirs []string
	// escaped lists symlinks that resolve outside the workspace.
	escaped []string
}

type goModule struct {
	path string // module path, e.g. github.com/acme/shop
	dir  string // "" or "services/shop/"
}

// skipDirs are never indexed as application code. node_modules and vendor
// are remembered in libDirs.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "__pycache__": true,
	".venv": true, ".tox": true, ".mypy_cache": true, ".pytest_cache": true,
	".gradle": true, ".idea": true,
}

var libDirNames = map[string]bool{"node_modules": true, "vendor": true}

// buildIndex walks root (absolute, symlinks resolved) once.
func buildIndex(root string) (*index, error) {
	ix := &index{
		exists:        map[string]bool{},
		byBase:        map[string][]int{},
		goWork:        map[string]bool{},
		localReplaced: map[string]bool{},
		sourceRoots:   map[string]string{"": "workspace root"},
	}
	err := filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			if abs == root {
				return err
			}
			return nil // an unreadable folder is left out, not fatal
		}
		rel, rerr := filepath.Rel(root, abs)
		if rerr != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return ix.visitDir(abs, rel, d.Name())
		}
		if d.Type()&fs.ModeSymlink != 0 {
			ix.visitSymlink(root, abs, rel)
			return nil
		}
		if d.Type().IsRegular() {
			ix.add(rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index workspace %s: %w", root, err)
	}
	sort.Strings(ix.files)
	ix.segs = make([][]string, len(ix.files))
	for i, f := range ix.files {
		ix.segs[i] = strings.Split(f, "/")
		ix.exists[f] = true
		b := path.Base(f)
		ix.byBase[b] = append(ix.byBase[b], i)
	}
	ix.readGoFiles(root)
	ix.readPackageNames(root)
	return ix, nil
}

func (ix *index) visitDir(abs, rel, name string) error {
	if skipDirs[name] {
		return filepath.SkipDir
	}
	if libDirNames[name] {
		ix.libDirs = append(ix.libDirs, rel+"/")
		return filepath.SkipDir
	}
	if name == "venv" || name == "env" {
		if _, err := os.Lstat(filepath.Join(abs, "pyvenv.cfg")); err == nil {
			return filepath.SkipDir // a virtualenv: third-party code
		}
	}
	for _, sr := range []string{"src/main/java", "src/test/java", "src/main/kotlin", "src/test/kotlin"} {
		if rel == sr || strings.HasSuffix(rel, "/"+sr) {
			ix.sourceRoots[rel+"/"] = "java source root"
		}
	}
	return nil
}

// visitSymlink indexes a symlink to a file inside the workspace under the
// link's own path; links that leave the workspace are recorded and dropped.
// Links to folders are not followed (their targets inside the workspace are
// indexed under their real paths, and following could loop).
func (ix *index) visitSymlink(root, abs, rel string) {
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return // dangling
	}
	if !within(root, target) {
		ix.escaped = append(ix.escaped, rel)
		return
	}
	if st, err := os.Stat(target); err == nil && st.Mode().IsRegular() {
		ix.add(rel)
	}
}

// within reports whether the absolute path p is root or below it.
func within(root, p string) bool {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return r == "." || (r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r))
}

func (ix *index) add(rel string) {
	ix.files = append(ix.files, rel)
	dir := path.Dir(rel)
	if dir == "." {
		dir = ""
	} else {
		dir += "/"
	}
	switch path.Base(rel) {
	case "go.mod":
		ix.sourceRoots[dir] = "go module"
	case "package.json":
		ix.sourceRoots[dir] = "package.json"
	case "pyproject.toml", "setup.py", "setup.cfg":
		ix.sourceRoots[dir] = "python project"
	case "__init__.py":
		// The parent of a package folder is where imports start. Nested
		// packages add their parents too; suffix ranking copes with that.
		parent := path.Dir(strings.TrimSuffix(dir, "/"))
		if parent == "." {
			parent = ""
		} else {
			parent += "/"
		}
		if _, ok := ix.sourceRoots[parent]; !ok {
			ix.sourceRoots[parent] = "python package root"
		}
	}
}

// readGoFiles parses every go.mod (module path -> folder) and a root
// go.work. A malformed file is skipped: one broken module must not stop
// the others from mapping.
func (ix *index) readGoFiles(root string) {
	for _, i := range ix.byBase["go.mod"] {
		f := ix.files[i]
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			continue
		}
		mp := modfile.ModulePath(data)
		if mp == "" {
			continue
		}
		dir := strings.TrimSuffix(f, "go.mod")
		ix.modules = append(ix.modules, goModule{path: mp, dir: dir})
		if mf, err := modfile.Parse(f, data, nil); err == nil {
			for _, r := range mf.Replace {
				if r.New.Version == "" && (strings.HasPrefix(r.New.Path, "./") || strings.HasPrefix(r.New.Path, "../")) {
					ix.localReplaced[r.Old.Path] = true
				}
			}
		}
	}
	sort.SliceStable(ix.modules, func(i, j int) bool {
		if len(ix.modules[i].path) != len(ix.modules[j].path) {
			return len(ix.modules[i].path) > len(ix.modules[j].path)
		}
		return ix.modules[i].dir < ix.modules[j].dir
	})
	if !ix.exists["go.work"] {
		return
	}
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return
	}
	for _, u := range wf.Use {
		if d, ok := cleanRel(u.Path); ok {
			ix.goWork[d] = true
		}
	}
}

// maxPackageJSON bounds the package.json read for its name.
const maxPackageJSON = 1 << 20

// readPackageNames reads the name of every package.json of the workspace
// (those under node_modules are not indexed). A malformed one is skipped.
func (ix *index) readPackageNames(root string) {
	ix.nodePackages = map[string]string{}
	for _, i := range ix.byBase["package.json"] {
		f := ix.files[i]
		file, err := os.Open(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			continue
		}
		var pkg struct {
			Name string `json:"name"`
		}
		err = json.NewDecoder(io.LimitReader(file, maxPackageJSON)).Decode(&pkg)
		file.Close()
		if err != nil || !validPackageName(pkg.Name) {
			continue
		}
		dir := strings.TrimSuffix(f, "package.json")
		if prev, ok := ix.nodePackages[pkg.Name]; ok && prev != dir {
			dir = "" // two folders claim the name: neither is sure
		}
		ix.nodePackages[pkg.Name] = dir
	}
}

// validPackageName accepts an npm package name, "name" or "@scope/name",
// as a path prefix that stays inside node_modules.
func validPackageName(name string) bool {
	segs := strings.Split(name, "/")
	switch {
	case len(segs) == 2 && strings.HasPrefix(segs[0], "@") && len(segs[0]) > 1:
	case len(segs) == 1:
	default:
		return false
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return false
		}
	}
	return true
}

// moduleFor returns the module whose path prefixes importPath, longest
// first. Two folders declaring the same module path (a copy, an example)
// are told apart by go.work when it lists exactly one of them.
func (ix *index) moduleFor(importPath string) (goModule, bool) {
	var found []goModule
	for _, m := range ix.modules {
		if importPath == m.path || strings.HasPrefix(importPath, m.path+"/") {
			if len(found) > 0 && found[0].path != m.path {
				break
			}
			found = append(found, m)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	var used []goModule
	for _, m := range found {
		if ix.goWork[m.dir] {
			used = append(used, m)
		}
	}
	if len(used) == 1 {
		return used[0], true
	}
	return goModule{}, false
}

// declares reports whether some workspace go.mod declares a module that
// prefixes importPath, even when which one is ambiguous.
func (ix *index) declares(importPath string) bool {
	for _, m := range ix.modules {
		if importPath == m.path || strings.HasPrefix(importPath, m.path+"/") {
			return true
		}
	}
	return false
}

// libraryFile returns the file at tail inside a remembered vendor/ or
// node_modules/ folder, checked without walking.
func (m *Mapper) libraryFile(kind, tail string) string {
	if tail == "" || hasDotDot(tail) {
		return ""
	}
	for _, d := range m.idx.libDirs {
		if path.Base(strings.TrimSuffix(d, "/")) != kind {
			continue
		}
		cand := d + tail
		st, err := m.fsRoot.Stat(filepath.FromSlash(cand))
		if err == nil && st.Mode().IsRegular() {
			return cand
		}
	}
	return ""
}
