package pathmap

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// normalize turns a printed frame path into a slash-separated path without
// URL schemes, drive letters or "./". abs reports whether it was absolute
// (a production prefix to strip) rather than relative to some source root.
// ok is false when the path, once unescaped, climbs with "..".
func normalize(p string) (out string, abs, ok bool) {
	p = strings.TrimSpace(p)
	switch {
	case strings.HasPrefix(p, "file://"):
		p = strings.TrimPrefix(p, "file://")
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		if !strings.HasPrefix(p, "/") { // file://host/path
			if i := strings.IndexByte(p, '/'); i >= 0 {
				p = p[i:]
			}
		}
	case strings.HasPrefix(p, "webpack://"):
		// webpack://<namespace>/<path relative to the build context>
		p = strings.TrimPrefix(p, "webpack://")
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[i+1:]
		}
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if len(p) >= 3 && p[1] == ':' && p[2] == '/' && isLetter(p[0]) {
		p = p[2:] // C:/app/x.js
	}
	if hasDotDot(p) || strings.ContainsRune(p, 0) {
		return "", false, false
	}
	abs = strings.HasPrefix(p, "/")
	p = path.Clean("/" + p)
	if p == "/" {
		return "", abs, true
	}
	if abs {
		return p, true, true
	}
	return p[1:], false, true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// hasDotDot reports whether any segment of p is "..": frame paths are
// untrusted and are never allowed to climb.
func hasDotDot(p string) bool {
	for _, s := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if s == ".." {
			return true
		}
	}
	return false
}

// library says why a frame is certainly not the application's, or "" when
// it may be. libKind/libTail, when set, name a vendor/ or node_modules/
// path to look for in the workspace.
type library struct {
	why     string
	libKind string
	libTail string
}

var (
	pyStdlib  = regexp.MustCompile(`(^|/)lib(64)?/python[23](\.\d+)?/`)
	goVersion = regexp.MustCompile(`@v\d[^/]*/`)
)

// goStd lists the standard library's top-level folders, so a -trimpath
// "runtime/panic.go" or "/usr/local/go/src/net/http/server.go" is known as
// Go's own code without a GOROOT to look at.
var goStd = map[string]bool{
	"archive": true, "bufio": true, "builtin": true, "bytes": true, "cmp": true,
	"compress": true, "container": true, "context": true, "crypto": true,
	"database": true, "debug": true, "embed": true, "encoding": true,
	"errors": true, "expvar": true, "flag": true, "fmt": true, "go": true,
	"hash": true, "html": true, "image": true, "index": true, "internal": true,
	"io": true, "iter": true, "log": true, "maps": true, "math": true,
	"mime": true, "net": true, "os": true, "path": true, "plugin": true,
	"reflect": true, "regexp": true, "runtime": true, "slices": true,
	"sort": true, "strconv": true, "strings": true, "structs": true,
	"sync": true, "syscall": true, "testing": true, "text": true, "time": true,
	"unicode": true, "unique": true, "unsafe": true, "weak": true,
}

// javaRuntime lists package prefixes of the JDK and language runtimes.
var javaRuntime = []string{"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.", "scala."}

// classify spots runtime and third-party frames before any suffix match
// could pair them with a same-named workspace file.
func (m *Mapper) classify(language string, f incident.Frame, p string, abs bool) library {
	if i := segmentIndex(p, "node_modules"); i >= 0 {
		return library{why: "path is inside node_modules", libKind: "node_modules", libTail: afterSegment(p, i)}
	}
	if i := segmentIndex(p, "vendor"); i >= 0 && language != "python" {
		return library{why: "path is inside a vendor folder", libKind: "vendor", libTail: afterSegment(p, i)}
	}
	switch language {
	case "go":
		return m.classifyGo(f, p, abs)
	case "python":
		site := segmentIndex(p, "site-packages")
		if site < 0 {
			site = segmentIndex(p, "dist-packages")
		}
		switch {
		case site >= 0 && m.ownPackage(afterSegment(p, site)):
			// The service installs its own package (pip install . in the
			// image): the workspace holds its source, so it is app code,
			// whatever the parser guessed from the path.
			return library{}
		case site >= 0:
			return library{why: "path is an installed package (site-packages)"}
		case pyStdlib.MatchString(p):
			return library{why: "path is the Python standard library"}
		}
	case "java", "kotlin":
		for _, pre := range javaRuntime {
			if strings.HasPrefix(f.Package+".", pre) || (f.Package == "" && strings.HasPrefix(f.Function, pre)) {
				return library{why: "package " + strings.TrimSuffix(pre, ".") + " belongs to the runtime"}
			}
		}
	}
	if f.Library {
		return library{why: "the stack parser marked the frame as library code"}
	}
	return library{}
}

// ownPackage reports whether tail, a path inside site-packages such as
// "shop/cart.py", is a file of the workspace's own Python package: some
// indexed file ends with all of tail, package folder included. A lone
// module ("six.py") is never taken for the workspace's: too many projects
// have a file of that name.
func (m *Mapper) ownPackage(tail string) bool {
	ts := segments(tail)
	if len(ts) < 2 || hasDotDot(tail) {
		return false
	}
	for _, i := range m.idx.byBase[ts[len(ts)-1]] {
		if suffixLen(ts, m.idx.segs[i]) == len(ts) {
			return true
		}
	}
	return false
}

func (m *Mapper) classifyGo(f incident.Frame, p string, abs bool) library {
	if loc := goVersion.FindStringIndex(p); loc != nil && !m.localModuleVersion(p) {
		return library{why: "path is in the Go module cache (module@version)"}
	}
	if strings.Contains(p, "/pkg/mod/") {
		return library{why: "path is in the Go module cache"}
	}
	if abs {
		// GOROOT: .../go/src/<std>/... where <std> is a standard package.
		segs := strings.Split(p, "/")
		for i := 1; i+2 < len(segs); i++ {
			if segs[i] == "src" && strings.HasPrefix(segs[i-1], "go") && goStd[segs[i+1]] {
				if !m.idx.declares(strings.Join(segs[i+1:], "/")) {
					return library{why: "path is in GOROOT (Go standard library)"}
				}
			}
		}
		if f.Library {
			return library{why: "the stack parser marked the frame as library code"}
		}
		return library{}
	}
	first, _, _ := strings.Cut(p, "/")
	if m.idx.declares(path.Dir(p)) {
		return library{} // a workspace module, whatever it is named
	}
	if goStd[first] && !strings.Contains(first, ".") {
		return library{why: "path is the Go standard library (-trimpath form)"}
	}
	if strings.Contains(first, ".") {
		return library{why: "module " + first + "/... is not a module of this workspace", libKind: "vendor", libTail: p}
	}
	if f.Library {
		return library{why: "the stack parser marked the frame as library code"}
	}
	return library{}
}

// segmentIndex returns the index of the first segment of p equal to name.
func segmentIndex(p, name string) int {
	for i, s := range strings.Split(p, "/") {
		if s == name {
			return i
		}
	}
	return -1
}

// afterSegment returns the part of p after its i-th segment.
func afterSegment(p string, i int) string {
	segs := strings.Split(p, "/")
	if i+1 >= len(segs) {
		return ""
	}
	return strings.Join(segs[i+1:], "/")
}

// segments splits a normalized path into its non-empty segments.
func segments(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// suffixLen counts the trailing segments a and b share.
func suffixLen(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// localModuleVersion reports whether p, a -trimpath "module@version/..."
// path, names a module that a workspace go.mod replaces with a workspace
// folder that declares it.
func (m *Mapper) localModuleVersion(p string) bool {
	at := strings.IndexByte(p, '@')
	if at <= 0 || strings.HasPrefix(p, "/") {
		return false
	}
	mod := p[:at]
	return m.idx.localReplaced[mod] && m.idx.declares(mod)
}
