package pathmap

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// maxObserved caps the prefix rewrites remembered for DerivedRules: frame
// paths are untrusted and must not grow memory without bound.
const maxObserved = 256

// maxPath bounds the frame paths considered; PATH_MAX is 4096 on Linux.
const maxPath = 4096

// Map maps one frame. language is "go", "java" (also Kotlin), "python" or
// "node". service, when it names an Options.ServiceDirs entry, is tried
// first for relative paths and settles ties between equally good files.
//
// The order is: refuse hostile paths; recognise runtime and third-party
// code; configured rules; the service folder; the language's own naming
// (Go module, Java package); then the longest path suffix, the function's
// definition and the service folder as tie-breakers.
func (m *Mapper) Map(language, service string, f incident.Frame) Result {
	language = strings.ToLower(strings.TrimSpace(language))
	if language == "kotlin" {
		language = "java"
	}
	raw := strings.TrimSpace(f.Path)
	if language == "java" && (raw == "" || !strings.Contains(raw, ".")) {
		raw = javaFileFromFunction(f)
	}
	if r, refused := precheck(raw); refused {
		return r
	}
	p, abs, ok := normalize(raw)
	if !ok {
		return Result{Reason: fmt.Sprintf("Refused %q: a frame path containing \"..\" or NUL is never mapped.", raw)}
	}
	if p == "" {
		return Result{Reason: fmt.Sprintf("The frame path %q names no file.", raw)}
	}
	// A configured rule is the user's word: it comes before any guess
	// about third-party code.
	var notes []string
	if r, note, ok := m.byConfigRule(p); ok {
		return r
	} else if note != "" {
		notes = append(notes, note)
	}
	if language == "go" && m.localModuleVersion(p) {
		// "m@v0.0.0/pkg/f.go" of a module replaced by a workspace folder.
		at := strings.IndexByte(p, '@')
		if slash := strings.IndexByte(p[at:], '/'); slash > 0 {
			p = p[:at] + p[at+slash:]
		}
	}
	if r, ok := m.byNodePackage(p); ok {
		return r
	}
	if lib := m.classify(language, f, p, abs); lib.why != "" {
		return m.libraryResult(lib)
	}
	svcDir := m.opt.ServiceDirs[service]
	if !abs && svcDir != "" && m.idx.exists[svcDir+p] {
		file := svcDir + p
		return m.found(file, RuleServiceDir,
			fmt.Sprintf("%s is %s relative to the folder of service %q.", file, p, service),
			[]Candidate{{File: file, SuffixLen: len(segments(p)), Why: "won: the path exists in the service's folder"}})
	}
	switch language {
	case "go":
		if r, note, ok := m.byGoModule(p, abs, f); ok {
			return r
		} else if note != "" {
			notes = append(notes, note)
		}
	case "java":
		if f.Package != "" {
			return m.byJavaPackage(p, svcDir, f)
		}
	}
	r := m.bySuffix(language, svcDir, p, abs, f)
	if len(notes) > 0 {
		r.Reason = strings.Join(notes, " ") + " " + r.Reason
	}
	return r
}

// precheck answers frames whose path is no workspace path at all: none,
// interpreter pseudo-files, Node built-ins, and hostile or absurd paths.
func precheck(raw string) (Result, bool) {
	switch {
	case raw == "":
		return Result{Reason: "The frame names no file."}, true
	case len(raw) > maxPath:
		return Result{Reason: fmt.Sprintf("Refused a frame path of %d bytes: longer than any real source path.", len(raw))}, true
	case strings.HasPrefix(raw, "<"):
		return Result{Rule: RuleLibrary, Reason: fmt.Sprintf("%s is not a file (interpreter-internal code).", raw)}, true
	case strings.HasPrefix(raw, "node:"):
		return Result{Rule: RuleLibrary, Reason: fmt.Sprintf("Not application code: %s is part of the Node.js runtime.", raw)}, true
	case hasDotDot(raw):
		return Result{Reason: fmt.Sprintf("Refused %q: a frame path containing \"..\" is never mapped.", raw)}, true
	}
	return Result{}, false
}

// found builds the result for a chosen file. It re-checks that the file is
// one the index holds, so no code path can return a path outside the
// workspace.
func (m *Mapper) found(file, rule, reason string, cands []Candidate) Result {
	if !m.idx.exists[file] {
		return Result{Reason: fmt.Sprintf("Internal check refused %q: not an indexed workspace file.", file), Candidates: cands}
	}
	r := Result{File: file, InApp: true, Rule: rule, Reason: reason, Candidates: cands}
	if why := m.thirdParty(file); why != "" {
		r.InApp = false
		r.Reason += " Not in-app: " + why + "."
	}
	return r
}

func (m *Mapper) libraryResult(lib library) Result {
	r := Result{Rule: RuleLibrary, Reason: "Not application code: " + lib.why + "."}
	if lib.libKind != "" {
		if file := m.libraryFile(lib.libKind, lib.libTail); file != "" {
			r.File = file
			r.Reason += " The workspace holds a copy at " + file + "."
			r.Candidates = []Candidate{{File: file, SuffixLen: len(segments(lib.libTail)), Why: "library copy inside " + lib.libKind + "/"}}
		}
	}
	return r
}

// byNodePackage maps a file inside node_modules that belongs to one of the
// workspace's own packages (npm install --install-links, pnpm deploy, a
// Docker stage copying a built workspace: the package is copied, not
// linked) to that package's folder. The innermost node_modules counts.
func (m *Mapper) byNodePackage(p string) (Result, bool) {
	segs := strings.Split(p, "/")
	i := len(segs) - 1
	for i >= 0 && segs[i] != "node_modules" {
		i--
	}
	if i < 0 || i+2 >= len(segs) {
		return Result{}, false
	}
	n := 1
	if strings.HasPrefix(segs[i+1], "@") {
		n = 2
	}
	if i+1+n >= len(segs) {
		return Result{}, false
	}
	name := strings.Join(segs[i+1:i+1+n], "/")
	dir, ok := m.idx.nodePackages[name]
	if !ok || dir == "" {
		return Result{}, false
	}
	file := dir + strings.Join(segs[i+1+n:], "/")
	if !m.idx.exists[file] {
		return Result{}, false
	}
	return m.found(file, RuleNodePackage,
		fmt.Sprintf("%s is inside the installed copy of %s, the workspace package in %s.", file, name, strings.TrimSuffix(dir, "/")),
		[]Candidate{{File: file, SuffixLen: len(segs) - i - 1 - n, Why: "won: package " + name + " is the workspace's own"}}), true
}

// byConfigRule applies the first (longest) configured prefix that matches.
// A rule that matches but names a missing file yields a note, and mapping
// goes on: the file may have moved since the rule was written.
func (m *Mapper) byConfigRule(p string) (Result, string, bool) {
	for _, rule := range m.opt.Rules {
		if !strings.HasPrefix(p, rule.From) {
			continue
		}
		file := rule.To + strings.TrimPrefix(p, rule.From)
		if m.idx.exists[file] {
			return m.found(file, RuleConfig,
				fmt.Sprintf("Rule %q -> %q rewrites the path to %s.", rule.From, rule.To, file),
				[]Candidate{{File: file, SuffixLen: len(segments(strings.TrimPrefix(p, rule.From))), Why: "won: configured rule " + rule.From + " -> " + rule.To}}), "", true
		}
		return Result{}, fmt.Sprintf("Rule %q -> %q gives %s, which does not exist.", rule.From, rule.To, file), false
	}
	return Result{}, "", false
}

// byGoModule maps a path through the module that declares it: the
// -trimpath form starts with the module path, a GOPATH-style absolute path
// contains it, and the frame's package names it whatever the path says.
func (m *Mapper) byGoModule(p string, abs bool, f incident.Frame) (Result, string, bool) {
	var tried []string
	try := func(importPath, file string, mod goModule) (Result, bool) {
		if m.idx.exists[file] {
			m.observeMatch(p, abs, file)
			return m.found(file, RuleGoModule,
				fmt.Sprintf("%s is in module %s, declared in %sgo.mod.", importPath, mod.path, mod.dir),
				[]Candidate{{File: file, SuffixLen: suffixLen(segments(p), segments(file)), Why: "won: module " + mod.path + " is at " + dirOrRoot(mod.dir)}}), true
		}
		tried = append(tried, file)
		return Result{}, false
	}
	for _, mod := range m.idx.modules {
		if rest, ok := cutModule(p, mod.path, abs); ok {
			if mod2, ok := m.idx.moduleFor(mod.path + "/" + rest); ok {
				if r, ok := try(mod.path+"/"+rest, mod2.dir+strings.TrimPrefix(mod.path+"/"+rest, mod2.path+"/"), mod2); ok {
					return r, "", true
				}
			}
			break
		}
	}
	pkg := f.Package
	if pkg == "" {
		pkg = goPackageOf(f.Function)
	}
	if mod, ok := m.idx.moduleFor(pkg); ok {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, mod.path), "/")
		file := mod.dir + path.Join(rel, path.Base(p))
		if r, ok := try(pkg, file, mod); ok {
			return r, "", true
		}
	}
	if len(tried) > 0 {
		return Result{}, fmt.Sprintf("The Go module points at %s, which does not exist.", strings.Join(tried, " and ")), false
	}
	return Result{}, "", false
}

// cutModule finds module path mod in p: at the start of a relative
// (-trimpath) path, or as whole segments inside an absolute one.
func cutModule(p, mod string, abs bool) (string, bool) {
	if !abs {
		return strings.CutPrefix(p, mod+"/")
	}
	i := strings.Index(p, "/"+mod+"/")
	if i < 0 {
		return "", false
	}
	return p[i+len(mod)+2:], true
}

// goPackageOf derives the import path from a Go function name:
// "github.com/acme/shop/cart.(*Cart).Total" -> "github.com/acme/shop/cart".
func goPackageOf(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return fn[:slash+1+dot]
}

func dirOrRoot(dir string) string {
	if dir == "" {
		return "the workspace root"
	}
	return dir
}

// bySuffix ranks every indexed file with the frame's base name by how many
// trailing path segments it shares with the frame path.
func (m *Mapper) bySuffix(language, svcDir, p string, abs bool, f incident.Frame) Result {
	ps := segments(p)
	base := ps[len(ps)-1]
	bucket := m.idx.byBase[base]
	cands := make([]Candidate, 0, len(bucket))
	for _, i := range bucket {
		cands = append(cands, Candidate{File: m.idx.files[i], SuffixLen: suffixLen(ps, m.idx.segs[i])})
	}
	if len(cands) == 0 {
		return Result{Reason: fmt.Sprintf("No workspace file is named %s.", base)}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].SuffixLen > cands[j].SuffixLen })
	best := cands[0].SuffixLen
	n := 0
	for n < len(cands) && cands[n].SuffixLen == best {
		n++
	}
	why := map[int]string{} // one string per suffix length, not per loser
	for i := n; i < len(cands); i++ {
		w, ok := why[cands[i].SuffixLen]
		if !ok {
			w = fmt.Sprintf("lost: shares %d trailing path segment(s), the best shares %d", cands[i].SuffixLen, best)
			why[cands[i].SuffixLen] = w
		}
		cands[i].Why = w
	}
	r := m.settle(language, svcDir, f, cands[:n], cands[n:], RuleSuffix,
		fmt.Sprintf("the longest matching path suffix (%d segment(s))", best))
	if r.File == "" {
		return r
	}
	matched := strings.Join(ps[len(ps)-best:], "/")
	prefix := strings.TrimSuffix(r.File, matched)
	if r.Rule == RuleSuffix && !abs && best == len(ps) {
		if kind, ok := m.idx.sourceRoots[prefix]; ok {
			r.Rule = RuleSourceRoot
			r.Reason = fmt.Sprintf("%s is %s under %s (%s).", r.File, p, dirOrRoot(prefix), kind)
		}
	}
	if best == 1 && len(ps) > 1 {
		r.Reason += " Only the file name matched."
	}
	m.observeMatch(p, abs, r.File)
	return r
}

// settle picks one of the contenders, which tie on the rule's main
// criterion: first by whether the file defines the frame's function, then
// by the service folder. losers are already explained.
func (m *Mapper) settle(language, svcDir string, f incident.Frame, contenders, losers []Candidate, rule, criterion string) Result {
	all := func() []Candidate { return append(append([]Candidate(nil), contenders...), losers...) }
	if len(contenders) == 1 {
		contenders[0].Why = "won: " + criterion
		return m.found(contenders[0].File, rule, fmt.Sprintf("%s won by %s.", contenders[0].File, criterion), all())
	}
	name, _ := funcName(language, f.Function)
	def := newDefiner(language, f.Function)
	known := def != nil
	for i := range contenders {
		contenders[i].HasSymbol = known && def.in(m.read(contenders[i].File))
	}
	var with, without []Candidate
	for _, c := range contenders {
		if c.HasSymbol {
			with = append(with, c)
		} else {
			c.Why = fmt.Sprintf("lost: tied on %s but does not define %s", criterion, name)
			without = append(without, c)
		}
	}
	if known && len(with) > 0 {
		losers = append(losers, without...)
		if len(with) == 1 {
			with[0].Why = fmt.Sprintf("won: tied on %s and the only one defining %s", criterion, name)
			contenders = with
			return m.found(with[0].File, RuleSymbol,
				fmt.Sprintf("%s won: it is the only file tied on %s that defines %s.", with[0].File, criterion, name), all())
		}
		contenders = with
	}
	if svcDir != "" {
		var in, out []Candidate
		for _, c := range contenders {
			if strings.HasPrefix(c.File, svcDir) {
				in = append(in, c)
			} else {
				c.Why = "lost: tied, but outside the service folder " + svcDir
				out = append(out, c)
			}
		}
		if len(in) >= 1 {
			contenders, losers = in, append(losers, out...)
			if len(in) == 1 {
				contenders[0].Why = "won: tied, and the only one in the service folder " + svcDir
				return m.found(in[0].File, RuleServiceDir,
					fmt.Sprintf("%s won: tied on %s, and the only one in the service folder %s.", in[0].File, criterion, svcDir), all())
			}
		}
	}
	for i := range contenders {
		contenders[i].Why = "tied: nothing told it apart from the other " + fmt.Sprint(len(contenders)-1)
	}
	return Result{Ambiguous: true, Candidates: all(),
		Reason: fmt.Sprintf("%d files tie on %s and nothing settles it; not guessing.", len(contenders), criterion)}
}

// observeMatch records the prefix rewrite a mapping of an absolute path
// implies: frame prefix -> file prefix, over their shared suffix.
func (m *Mapper) observeMatch(p string, abs bool, file string) {
	if !abs || file == "" {
		return
	}
	ps, fs := segments(p), segments(file)
	n := suffixLen(ps, fs)
	if n == 0 {
		return
	}
	from := "/" + strings.Join(ps[:len(ps)-n], "/")
	if !strings.HasSuffix(from, "/") {
		from += "/"
	}
	to := strings.Join(fs[:len(fs)-n], "/")
	if to != "" {
		to += "/"
	}
	m.mu.Lock()
	if len(m.observed) < maxObserved || m.observed[Rule{from, to}] > 0 {
		m.observed[Rule{from, to}]++
	}
	m.mu.Unlock()
}
