// Package pathmap maps a stack frame, as printed in production, to a file in
// the workspace at HEAD, and explains how it decided.
//
// Production paths rarely look like workspace paths: Go binaries built with
// -trimpath print module paths, containers print /app or /usr/src/app,
// CI builds print /home/runner/work/..., the JVM prints only a file name, and
// Node prints file:// and webpack:// URLs. The Mapper indexes the workspace
// once (New) and then answers each frame from memory (Map): configured rules
// first, then what the language says about the file (Go module, Java
// package), then the longest path suffix, the frame's function and the
// service folder as tie-breakers. When nothing settles a tie it says so
// (Result.Ambiguous) rather than guess.
//
// Frame paths are untrusted log data: Map only ever returns files that were
// indexed inside the workspace root, and reads file contents through an
// os.Root so that a symlink cannot lead it outside.
package pathmap

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Rule rewrites a production path prefix to a workspace folder, from
// .faultline.yaml: {from: "/app/", to: "services/checkout/"}.
type Rule struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// Options configures a Mapper.
type Options struct {
	// Rules are tried before anything else, longest From first.
	Rules []Rule
	// ServiceDirs maps a service name (the log's service label) to its
	// folder in a monorepo, e.g. "checkout" -> "services/checkout".
	ServiceDirs map[string]string
}

// Rule names reported in Result.Rule.
const (
	RuleConfig      = "config-rule"  // an Options.Rules prefix rewrite
	RuleServiceDir  = "service-dir"  // the service's folder settled it
	RuleGoModule    = "go-module"    // a go.mod module path prefix
	RuleJavaPackage = "java-package" // the Java/Kotlin package + file name
	RuleSourceRoot  = "source-root"  // a relative path found under a source root
	RuleNodePackage = "node-package" // a workspace package installed into node_modules
	RuleSuffix      = "suffix"       // the unique longest path suffix
	RuleSymbol      = "symbol"       // the only tied file defining the function
	RuleLibrary     = "library"      // recognised as runtime/third-party code
)

// Result is the answer for one frame.
type Result struct {
	File      string // repo-relative, forward slashes; "" when unmapped
	InApp     bool   // mapped into the workspace and not vendor/third-party/generated
	Rule      string // which rule chose it (Rule* constants); "" when nothing did
	Reason    string // one sentence for humans
	Ambiguous bool   // several candidates tied and nothing settled it
	// Candidates lists every file considered, with why it won or lost, for
	// `faultline explain`.
	Candidates []Candidate
}

// Candidate is one file considered for a frame.
type Candidate struct {
	File      string
	SuffixLen int  // trailing path segments shared with the frame path
	HasSymbol bool // the frame's function is defined in the file
	Why       string
}

// Mapper maps frames of one workspace. It is safe for concurrent use.
type Mapper struct {
	root   string   // absolute, symlinks resolved
	fsRoot *os.Root // every content read goes through it
	opt    Options
	idx    *index

	mu       sync.Mutex
	content  map[string][]byte // file -> contents read for symbol checks (read once)
	javaPkg  map[string]string // file -> declared package (read once)
	observed map[Rule]int      // prefix rewrites seen while mapping
}

// New indexes the workspace at root once. Later calls to Map never walk the
// tree. It fails when root cannot be read or a configured rule or service
// folder would point outside the workspace.
func New(root string, opt Options) (*Mapper, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve workspace root %s: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("resolve workspace root %s: %w", root, err)
	}
	clean, err := cleanOptions(opt)
	if err != nil {
		return nil, err
	}
	idx, err := buildIndex(real)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("open workspace root %s: %w", real, err)
	}
	return &Mapper{
		root:     real,
		fsRoot:   r,
		opt:      clean,
		idx:      idx,
		content:  map[string][]byte{},
		javaPkg:  map[string]string{},
		observed: map[Rule]int{},
	}, nil
}

// Close releases the handle on the workspace root.
func (m *Mapper) Close() error { return m.fsRoot.Close() }

// Root returns the absolute workspace root the Mapper indexed.
func (m *Mapper) Root() string { return m.root }

// Files returns how many workspace files are indexed.
func (m *Mapper) Files() int { return len(m.idx.files) }

// Skipped returns workspace paths that were left out of the index because
// they are symlinks pointing outside the workspace.
func (m *Mapper) Skipped() []string { return append([]string(nil), m.idx.escaped...) }

// cleanOptions validates the workspace side of rules and service folders: a
// .faultline.yaml from a cloned repository is as untrusted as a log line.
func cleanOptions(opt Options) (Options, error) {
	out := Options{ServiceDirs: map[string]string{}}
	for _, r := range opt.Rules {
		if r.From == "" {
			return Options{}, fmt.Errorf("path rule to %q: empty from", r.To)
		}
		to, ok := cleanRel(r.To)
		if !ok {
			return Options{}, fmt.Errorf("path rule %q -> %q: target must be a folder inside the workspace", r.From, r.To)
		}
		out.Rules = append(out.Rules, Rule{From: normalizeFromPrefix(r.From), To: to})
	}
	sort.SliceStable(out.Rules, func(i, j int) bool { return len(out.Rules[i].From) > len(out.Rules[j].From) })
	for svc, dir := range opt.ServiceDirs {
		d, ok := cleanRel(dir)
		if !ok {
			return Options{}, fmt.Errorf("service %q folder %q: must be a folder inside the workspace", svc, dir)
		}
		out.ServiceDirs[svc] = d
	}
	return out, nil
}

// cleanRel turns a configured workspace folder into "" (the root) or
// "a/b/"; ok is false when it is absolute or climbs out with "..".
func cleanRel(p string) (string, bool) {
	p = strings.ReplaceAll(p, `\`, "/")
	if strings.HasPrefix(p, "/") || hasDotDot(p) {
		return "", false
	}
	if strings.ContainsRune(p, 0) {
		return "", false
	}
	c := path.Clean(p)
	if c == "." {
		return "", true
	}
	return c + "/", true
}

// normalizeFromPrefix puts a configured production prefix in the same form
// normalize gives frame paths, so "file:///app/" and "/app" both match.
func normalizeFromPrefix(from string) string {
	p, abs, _ := normalize(from)
	if p == "" && abs {
		return "/"
	}
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// DerivedRules returns path rules the Mapper worked out by itself, so a user
// can commit them to .faultline.yaml (`faultline mappings`): one per Go module
// in the workspace (module path -> folder) and one per production prefix that
// suffix matching stripped ("/build/src/" -> ""). Sorted by From.
func (m *Mapper) DerivedRules() []Rule {
	var out []Rule
	for _, mod := range m.idx.modules {
		if chosen, ok := m.idx.moduleFor(mod.path); ok && chosen.dir == mod.dir {
			out = append(out, Rule{From: mod.path + "/", To: mod.dir})
		}
	}
	m.mu.Lock()
	for r := range m.observed {
		out = append(out, r)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}
