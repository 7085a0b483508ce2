package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/incident"
)

// The hostile corpus (testdata/hostile at the repository root) holds log
// lines written by whoever sends requests to a service: escapes, junk,
// paths that climb out of the workspace, markup, prompt injection, secrets.
// Each archive's comment says why the case matters and what it expects
// (want-* lines); two cases are generated here because they cannot be
// committed: a 10 MB line and symlinks out of the workspace.
const hostileDir = "../../testdata/hostile"

// canary is a GitHub-token-shaped string that no output may ever echo.
const canary = "ghp_CANARY0000000000000000000000000000"

// outsideSecret is the content of a file outside the workspace that a
// symlink points at; it must never be read into an output.
const outsideSecret = "OUTSIDE-SECRET-CONTENT-7f3a"

// knownBugs maps "case/check" to the report that describes it. A check
// listed here is skipped, so the suite stays green while the bug is open;
// remove the entry when it is fixed.
var knownBugs = map[string]string{}

type hostileCase struct {
	name  string
	why   string
	want  map[string][]string // want-* lines of the archive comment
	logs  []byte
	setup func(t *testing.T, root, outside string) // extra workspace files (symlinks)
}

type checkRun struct {
	code           int
	stdout, stderr []byte
	panicked       string
}

func TestHostileLogs(t *testing.T) {
	cases := loadHostileCases(t)
	cases = append(cases, hugeLineCase(), symlinkCase())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, outside := hostileWorkspace(t, c.setup)
			logs := filepath.Join(t.TempDir(), "logs.jsonl")
			if err := os.WriteFile(logs, c.logs, 0o644); err != nil {
				t.Fatal(err)
			}
			js := runHostileCheck(root, logs, "json")
			text := runHostileCheck(root, logs, "text")
			var out struct {
				Incidents []incident.Incident `json:"incidents"`
			}
			jsonErr := json.Unmarshal(js.stdout, &out)
			h := &hostileRun{case_: c, root: root, outside: outside, js: js, text: text, incidents: out.Incidents, jsonErr: jsonErr}
			for _, chk := range hostileChecks {
				if chk.applies != nil && !chk.applies(c) {
					continue
				}
				t.Run(chk.name, func(t *testing.T) {
					if why, ok := knownBugs[c.name+"/"+chk.name]; ok {
						t.Skip("known bug: " + why)
					}
					chk.run(t, h)
				})
			}
		})
	}
}

type hostileRun struct {
	case_     hostileCase
	root      string
	outside   string
	js, text  checkRun
	incidents []incident.Incident
	jsonErr   error
}

// hostileChecks are the assertions every case gets (and a few that only
// cases asking for them get).
var hostileChecks = []struct {
	name    string
	applies func(hostileCase) bool
	run     func(*testing.T, *hostileRun)
}{
	{"no panic, exit 0", nil, checkExit},
	{"json output is the contract in valid UTF-8", nil, checkJSONValid},
	{"locations stay inside the workspace", nil, checkLocations},
	{"mapped frames stay inside the workspace", nil, checkFrames},
	{"no control characters in text output", nil, checkNoControl},
	{"no bidi overrides in text output", nil, checkNoBidi},
	{"no file content from outside the workspace", nil, checkNoOutsideContent},
	{"no canary in any output", nil, checkNoCanary},
	{"fixes touch only workspace source files", nil, checkFixes},
	{"malformed lines counted, not fatal", wants("want-malformed"), checkMalformed},
	{"crash located in the workspace", wants("want-location"), checkWantLocation},
	{"message kept verbatim", wants("want-message-contains"), checkMessageKept},
	{"no injected frame", wants("want-no-frame"), checkNoInjectedFrame},
	{"incidents on both sides of the hostile lines", wants("want-incidents-min"), checkIncidentsMin},
}

func wants(key string) func(hostileCase) bool {
	return func(c hostileCase) bool { return len(c.want[key]) > 0 }
}

func checkExit(t *testing.T, h *hostileRun) {
	for _, r := range []struct {
		format string
		run    checkRun
	}{{"json", h.js}, {"text", h.text}} {
		if r.run.panicked != "" {
			t.Fatalf("check --format %s panicked: %s", r.format, r.run.panicked)
		}
		if r.run.code != 0 {
			t.Errorf("check --format %s exited %d: %s", r.format, r.run.code, r.run.stderr)
		}
	}
}

func checkJSONValid(t *testing.T, h *hostileRun) {
	if h.jsonErr != nil {
		t.Fatalf("stdout is not the JSON contract: %v\n%.500s", h.jsonErr, h.js.stdout)
	}
	if !utf8.Valid(h.js.stdout) {
		t.Error("JSON output is not valid UTF-8")
	}
}

// insideWorkspace says why a repo-relative path is not a file inside root
// (after following symlinks), or "" when it is.
func insideWorkspace(root, rel string) string {
	switch {
	case rel == "":
		return "empty path"
	case filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.Contains(rel, `\`):
		return "not repo-relative"
	case strings.Contains("/"+rel+"/", "/../"):
		return `contains ".."`
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return "" // not on disk: nothing could be read through it
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	if r, err := filepath.Rel(realRoot, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "resolves to " + real + ", outside the workspace"
	}
	return ""
}

func checkLocations(t *testing.T, h *hostileRun) {
	for _, inc := range h.incidents {
		if inc.Location == nil {
			continue
		}
		if why := insideWorkspace(h.root, inc.Location.File); why != "" {
			t.Errorf("incident %s: location.file %q %s", inc.ID, inc.Location.File, why)
		}
	}
}

func checkFrames(t *testing.T, h *hostileRun) {
	for _, inc := range h.incidents {
		for _, f := range inc.Frames {
			// Unmapped frames carry the original path by contract; only
			// the ones claimed to be workspace files must be.
			if !f.Mapped && (filepath.IsAbs(f.File) || f.File == f.OriginalPath) {
				continue
			}
			if why := insideWorkspace(h.root, f.File); why != "" {
				t.Errorf("incident %s: frame %s file %q (from %q) %s", inc.ID, f.Function, f.File, f.OriginalPath, why)
			}
		}
	}
}

// badRunes lists the runes of s that must not reach a terminal, with where.
func badRunes(s []byte, bad func(rune) bool) []string {
	var found []string
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if bad(r) && len(found) < 12 {
			lo := max(0, i-30)
			found = append(found, fmt.Sprintf("%U at %d in %q", r, i, s[lo:min(len(s), i+30)]))
		}
		i += n
	}
	return found
}

func isControl(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }

func isBidi(r rune) bool { return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) }

func checkNoControl(t *testing.T, h *hostileRun) {
	for name, out := range map[string][]byte{"text stdout": h.text.stdout, "text stderr": h.text.stderr, "json stderr": h.js.stderr} {
		if bad := badRunes(out, isControl); len(bad) > 0 {
			t.Errorf("%s holds control characters: %s", name, strings.Join(bad, "; "))
		}
	}
}

func checkNoBidi(t *testing.T, h *hostileRun) {
	if bad := badRunes(h.text.stdout, isBidi); len(bad) > 0 {
		t.Errorf("text output holds bidi overrides (Trojan Source): %s", strings.Join(bad, "; "))
	}
}

func checkNoOutsideContent(t *testing.T, h *hostileRun) {
	for _, secret := range []string{outsideSecret, "root:x:0:0"} {
		for name, out := range h.outputs() {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s shows %q, read from a file outside the workspace", name, secret)
			}
		}
	}
}

func checkNoCanary(t *testing.T, h *hostileRun) {
	for name, out := range h.outputs() {
		if bytes.Contains(out, []byte(canary)) {
			t.Errorf("%s echoes the secret canary %s", name, canary)
		}
	}
}

func (h *hostileRun) outputs() map[string][]byte {
	return map[string][]byte{"json stdout": h.js.stdout, "json stderr": h.js.stderr, "text stdout": h.text.stdout, "text stderr": h.text.stderr}
}

// checkFixes: whatever the log says, a fix edits workspace source files
// only: no dependency manifests, no CI, nothing the log asked for.
func checkFixes(t *testing.T, h *hostileRun) {
	for _, inc := range h.incidents {
		for _, fx := range inc.Fixes {
			for _, p := range diffPaths(fx.Diff) {
				if why := insideWorkspace(h.root, p); why != "" {
					t.Errorf("fix %q edits %q: %s", fx.Title, p, why)
				}
				if p == "go.mod" || p == "go.sum" || strings.HasPrefix(p, ".github/") {
					t.Errorf("fix %q edits %s", fx.Title, p)
				}
			}
			for _, injected := range []string{"evil/pkg", "evil.example"} {
				if strings.Contains(fx.Diff, injected) || strings.Contains(fx.Title, injected) {
					t.Errorf("fix %q carries injected text %q", fx.Title, injected)
				}
			}
		}
	}
}

// diffPaths returns the repo-relative paths a unified diff touches.
func diffPaths(diff string) []string {
	var paths []string
	for _, l := range strings.Split(diff, "\n") {
		for _, prefix := range []string{"--- ", "+++ "} {
			if p, ok := strings.CutPrefix(l, prefix); ok && p != "/dev/null" {
				p, _, _ = strings.Cut(p, "\t")
				if a, ok := strings.CutPrefix(p, "a/"); ok {
					p = a
				} else if b, ok := strings.CutPrefix(p, "b/"); ok {
					p = b
				}
				paths = append(paths, p)
			}
		}
	}
	return paths
}

func checkMalformed(t *testing.T, h *hostileRun) {
	if !bytes.Contains(h.js.stderr, []byte("malformed")) {
		t.Errorf("stderr does not report the malformed lines:\n%s", h.js.stderr)
	}
}

func checkWantLocation(t *testing.T, h *hostileRun) {
	for _, want := range h.case_.want["want-location"] {
		// "file" or "file:line"
		file, line, _ := strings.Cut(want, ":")
		found := false
		for _, inc := range h.incidents {
			l := inc.Location
			found = found || (l != nil && l.File == file && (line == "" || line == fmt.Sprint(l.Line)))
		}
		if !found {
			t.Errorf("no incident located at %s; got %s", want, describeIncidents(h.incidents))
		}
	}
}

func checkMessageKept(t *testing.T, h *hostileRun) {
	for _, want := range h.case_.want["want-message-contains"] {
		found := false
		for _, inc := range h.incidents {
			found = found || strings.Contains(inc.Message, want)
		}
		if !found {
			t.Errorf("no incident message holds %q verbatim; got %s", want, describeIncidents(h.incidents))
		}
	}
}

func checkNoInjectedFrame(t *testing.T, h *hostileRun) {
	for _, bad := range h.case_.want["want-no-frame"] {
		for _, inc := range h.incidents {
			for _, f := range inc.Frames {
				if strings.Contains(f.OriginalPath, bad) || strings.Contains(f.File, bad) {
					t.Errorf("incident %s has a frame at %s, injected by the panic message", inc.ID, f.OriginalPath)
				}
			}
		}
	}
}

func checkIncidentsMin(t *testing.T, h *hostileRun) {
	var n int
	fmt.Sscan(h.case_.want["want-incidents-min"][0], &n)
	if len(h.incidents) < n {
		t.Errorf("%d incidents, want at least %d: %s", len(h.incidents), n, describeIncidents(h.incidents))
	}
}

func describeIncidents(incs []incident.Incident) string {
	var parts []string
	for _, inc := range incs {
		loc := "no location"
		if inc.Location != nil {
			loc = fmt.Sprintf("%s:%d", inc.Location.File, inc.Location.Line)
		}
		parts = append(parts, fmt.Sprintf("[%s %q at %s]", inc.ErrorType, firstN(inc.Message, 60), loc))
	}
	return fmt.Sprintf("%d incidents %s", len(incs), strings.Join(parts, " "))
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// runHostileCheck runs `faultline check` in process, turning a panic into
// a reported failure instead of a crashed test binary.
func runHostileCheck(root, logs, format string) (r checkRun) {
	var stdout, stderr bytes.Buffer
	defer func() {
		if p := recover(); p != nil {
			r.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
		r.stdout, r.stderr = stdout.Bytes(), stderr.Bytes()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.code = run(ctx, []string{"check", "--repo", root, "--logs", logs, "--format", format}, &stdout, &stderr)
	return r
}

func loadHostileCases(t *testing.T) []hostileCase {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(hostileDir, "*.txtar"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no hostile cases in %s (%v)", hostileDir, err)
	}
	sort.Strings(names)
	var cases []hostileCase
	for _, n := range names {
		if filepath.Base(n) == "workspace.txtar" {
			continue
		}
		a, err := txtar.ParseFile(n)
		if err != nil {
			t.Fatal(err)
		}
		c := hostileCase{name: strings.TrimSuffix(filepath.Base(n), ".txtar"), want: map[string][]string{}}
		c.why, c.want = parseComment(string(a.Comment))
		for _, f := range a.Files {
			if f.Name == "logs.jsonl" {
				c.logs = f.Data
			}
		}
		if c.why == "" || c.logs == nil {
			t.Fatalf("%s: want a why: line and a logs.jsonl file", n)
		}
		cases = append(cases, c)
	}
	return cases
}

// parseComment reads "why:" (continued on following lines) and want-* lines.
func parseComment(s string) (string, map[string][]string) {
	var why []string
	want := map[string][]string{}
	inWhy := false
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(l, ":")
		switch {
		case ok && strings.HasPrefix(k, "want-"):
			want[k] = append(want[k], strings.TrimSpace(v))
			inWhy = false
		case ok && k == "why":
			why, inWhy = append(why, strings.TrimSpace(v)), true
		case inWhy && strings.TrimSpace(l) != "":
			why = append(why, strings.TrimSpace(l))
		}
	}
	return strings.Join(why, " "), want
}

// hostileWorkspace commits testdata/hostile/workspace.txtar to a fresh git
// repository and runs setup; outside is a folder beside it, outside the
// workspace, holding a secret file.
func hostileWorkspace(t *testing.T, setup func(t *testing.T, root, outside string)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	root, outside := filepath.Join(dir, "repo"), filepath.Join(dir, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.go"), []byte("package secret\n\n// "+outsideSecret+"\nvar Key = \""+outsideSecret+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := txtar.ParseFile(filepath.Join(hostileDir, "workspace.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainInit(root, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(f.Name); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	if _, err := wt.Commit("shop", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(t, root, outside)
	}
	return root, outside
}

// jsonlEntry renders one logcli jsonl line.
func jsonlEntry(labels map[string]string, line string, at time.Time) []byte {
	b, _ := json.Marshal(struct {
		Labels    map[string]string `json:"labels"`
		Line      string            `json:"line"`
		Timestamp string            `json:"timestamp"`
	}{labels, line, at.Format(time.RFC3339Nano)})
	return append(b, '\n')
}

// goPanicEntries prints a Go panic one stderr line per entry, its top
// frame at topFunc/topFile.
func goPanicEntries(labels map[string]string, msg, topFunc, topFile string, at time.Time) []byte {
	lines := []string{"panic: " + msg, "", "goroutine 7 [running]:", topFunc + "(0x0)", "\t" + topFile + " +0x2e",
		"github.com/acme/shop/api.(*Server).checkout(0xc0001a2000)", "\t/app/api/server.go:9 +0x1b8",
		"created by net/http.(*Server).Serve in goroutine 1", "\t/usr/local/go/src/net/http/server.go:3360 +0x485"}
	var b []byte
	for i, l := range lines {
		b = append(b, jsonlEntry(labels, l, at.Add(time.Duration(i)*time.Millisecond))...)
	}
	return b
}

var hostileT0 = time.Date(2026, 11, 20, 10, 42, 0, 0, time.UTC)

// hugeLineCase: a 10 MB JSON entry and a 10 MB line of junk between two
// crashes of different services.
func hugeLineCase() hostileCase {
	checkout := map[string]string{"service": "checkout", "env": "prod"}
	cart := map[string]string{"service": "cart", "env": "prod"}
	var b []byte
	b = append(b, goPanicEntries(checkout, "before the huge lines", "github.com/acme/shop/cart.(*Cart).Total", "/app/cart/cart.go:12", hostileT0)...)
	b = append(b, jsonlEntry(checkout, "panic: "+strings.Repeat("A", 10<<20), hostileT0.Add(time.Second))...)
	b = append(b, bytes.Repeat([]byte("\x00junk"), 2<<20)...)
	b = append(b, '\n')
	b = append(b, goPanicEntries(cart, "after the huge lines", "github.com/acme/shop/cart.(*Cart).Total", "/app/cart/cart.go:12", hostileT0.Add(2*time.Second))...)
	return hostileCase{
		name: "huge_lines", why: "10 MB lines (one valid JSON entry, one of junk) are cut or skipped, never fatal",
		want: map[string][]string{"want-location": {"cart/cart.go"}, "want-incidents-min": {"2"}}, logs: b,
	}
}

// symlinkCase: workspace paths that are symlinks to files and folders
// outside it, and frames pointing through them.
func symlinkCase() hostileCase {
	svc := map[string]string{"service": "checkout", "env": "prod"}
	var b []byte
	for i, frame := range []struct{ fn, file string }{
		{"github.com/acme/shop/cart.Leak", "/app/cart/leak.go:3"},
		{"github.com/acme/shop/outside.Key", "/app/outside/secret.go:3"},
		{"github.com/acme/shop/etc.Passwd", "/app/etc/passwd:1"},
	} {
		labels := map[string]string{"service": fmt.Sprintf("%s-%d", svc["service"], i), "env": "prod"}
		b = append(b, goPanicEntries(labels, "through a symlink "+frame.file, frame.fn, frame.file, hostileT0.Add(time.Duration(i)*time.Second))...)
	}
	return hostileCase{
		name: "symlink_escape",
		why:  "symlinks in the workspace pointing outside it (a file, a folder, /etc) are never followed into a location or a code frame",
		want: map[string][]string{}, logs: b,
		setup: func(t *testing.T, root, outside string) {
			for link, target := range map[string]string{
				"cart/leak.go": filepath.Join(outside, "secret.go"),
				"outside":      outside,
				"etc":          "/etc",
			} {
				if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
					t.Fatal(err)
				}
			}
		},
	}
}
