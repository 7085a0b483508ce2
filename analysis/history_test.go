package analysis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/incident"
)

// historyRepo makes a git repository in a temp dir with one commit per
// tree (a file whose content is "" is deleted), then writes worktree
// without committing; it returns the repository, its folder and the
// commits' shas, oldest first.
func historyRepo(t *testing.T, trees []map[string]string, worktree map[string]string) (*gitrepo.Repo, string, []string) {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	write := func(rel, content string) {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var shas []string
	when := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, tree := range trees {
		for rel, content := range tree {
			if content == "" {
				if _, err := wt.Remove(rel); err != nil {
					t.Fatal(err)
				}
				continue
			}
			write(rel, content)
			if _, err := wt.Add(rel); err != nil {
				t.Fatal(err)
			}
		}
		sig := &object.Signature{Name: "Dev", Email: "dev@example.com", When: when.Add(time.Duration(i) * time.Hour)}
		h, err := wt.Commit(fmt.Sprintf("commit %d", i), &git.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, h.String())
	}
	for rel, content := range worktree {
		write(rel, content)
	}
	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return repo, dir, shas
}

// commitRepo makes a git repository of n commits, each rewriting one
// file, and returns it with the commits' shas oldest first.
func commitRepo(t *testing.T, n int) (*gitrepo.Repo, []string) {
	t.Helper()
	var trees []map[string]string
	for i := range n {
		trees = append(trees, map[string]string{"f.js": string(rune('a'+i)) + "\n"})
	}
	repo, _, shas := historyRepo(t, trees, nil)
	return repo, shas
}

// checkCarry carries a mapped frame at path:line of the first commit to
// HEAD and the working tree, and checks where it lands.
func checkCarry(t *testing.T, repo *gitrepo.Repo, dir, deployed, lang, path string, line int, wantFile string, wantLine int, wantStatus string) {
	t.Helper()
	a := New(Config{Root: dir, Repo: repo})
	mf := incident.MappedFrame{File: path, RepoPathAtDeploy: path, Line: line, OriginalLine: line, Mapped: true, InApp: true}
	a.carry(context.Background(), &mf, lang, deployed, "test")
	if mf.File != wantFile || mf.Line != wantLine || mf.LineStatus != wantStatus {
		t.Errorf("carried to %s:%d (%s), want %s:%d (%s); note %q", mf.File, mf.Line, mf.LineStatus,
			wantFile, wantLine, wantStatus, mf.Note)
	}
}

// TestCommitOnlyDeploys: a CD system that reports deploys by commit alone
// (no version) and pods without a version label. The version an
// occurrence ran is the deploy running at its time, named by its commit,
// and resolves to that commit: a later deploy (after the errors) did not
// run it, and a deploy with a version is still named by its version.
func TestCommitOnlyDeploys(t *testing.T) {
	repo, shas := commitRepo(t, 4)
	day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	a := New(Config{Root: t.TempDir(), Repo: repo, Deploys: []incident.Deploy{
		{Time: day(1, 12), Service: "lockerd", Env: "prod", Commit: shas[0]},
		{Time: day(5, 13), Service: "lockerd", Env: "prod", Commit: shas[3]}, // after the errors
		{Time: day(4, 14), Service: "lockerd", Env: "prod", Commit: shas[2]},
		{Time: day(3, 10), Service: "other", Env: "prod", Commit: shas[1]},
		{Time: day(6, 10), Service: "lockerd", Env: "staging", Version: "v1.2.0", Commit: shas[1]},
		{Time: day(6, 12), Service: "lockerd", Env: "qa", Version: "v2.0.0", Commit: shas[2]},
	}})
	ctx := context.Background()
	for _, c := range []struct {
		name, env, label string
		at               time.Time
		wantVersion      string
		wantCommit       string
	}{
		{"under the deploy of the 4th", "prod", "", day(4, 16), shas[2][:12], shas[2]},
		{"under the first deploy", "prod", "", day(2, 8), shas[0][:12], shas[0]},
		{"after the last deploy", "prod", "", day(7, 8), shas[3][:12], shas[3]},
		{"a labelled deploy keeps its version", "staging", "", day(7, 8), "v1.2.0", shas[1]},
		{"a version label wins", "prod", shas[1][:12], day(4, 16), shas[1][:12], shas[1]},
		{"before any deploy", "prod", "", day(1, 8), "", ""},
		{"a label that names no commit", "prod", "latest", day(4, 16), "latest", shas[2]},
		{"the event's version has a v, the label not", "qa", "2.0.0", day(7, 8), "2.0.0", shas[2]},
		{"another version", "qa", "2.0.1", day(7, 8), "2.0.1", ""},
		{"a label that names no commit, staging", "staging", "latest", day(7, 8), "latest", ""},
	} {
		v := a.versionOf("lockerd", c.env, c.label, c.at)
		if v != c.wantVersion {
			t.Errorf("%s: version %q, want %q", c.name, v, c.wantVersion)
		}
		got, how := a.deployedCommit(ctx, "lockerd", c.env, v, c.at)
		if got != c.wantCommit {
			t.Errorf("%s: deployed commit %q (%s), want %q", c.name, got, how, c.wantCommit)
		}
	}
	// The deploy before a commit-only deploy is the previous commit, not
	// nothing: every commit-only event has the same empty version.
	d := &a.cfg.Deploys[2] // sorted: the deploy of the 4th
	if d.Commit != shas[2] {
		t.Fatalf("deploy 2 is %+v", d)
	}
	if p := previousDeploy(a.cfg.Deploys, d); p == nil || p.Commit != shas[0] {
		t.Errorf("previous deploy of %s = %+v, want the deploy of %s", shortSHA(d.Commit), p, shortSHA(shas[0]))
	}
}

// TestMovedFunction: the statement a trace names is gone from its file since
// the deploy because its function now lives elsewhere (the file moved and
// was edited too much to be a rename; the function moved to another file)
// and the statement changed or went away there. The location follows the
// function: an edited statement is found in it, a removed one is deleted
// at the function's nearest line; never a line of the old file where the
// function no longer is, nor a file that no longer exists.
func TestMovedFunction(t *testing.T) {
	pyOld := "DOCKS = {\"north\": 4}\r\n\r\n\r\ndef utilisation(dock, booked_hours):\r\n" +
		"    capacity = DOCKS.get(dock, 0) * 8\r\n    return booked_hours / capacity\r\n\r\n\r\n" +
		"def plan_day(bookings):\r\n    return [utilisation(b, 1) for b in bookings]\r\n"
	pySlots := "from dockplan.capacity import utilisation\r\n\r\n\r\n" +
		"def plan_day(bookings):\r\n    return [utilisation(b, 1) for b in bookings]\r\n"
	pyCapacity := func(body string) string {
		return "\"\"\"Dock capacity.\"\"\"\r\n\r\nDOCKS = {\"north\": 4}\r\n\r\n\r\ndef bay_hours(dock):\r\n" +
			"    return DOCKS.get(dock, 0) * 8\r\n\r\n\r\ndef utilisation(dock, booked_hours):\r\n" + body
	}
	goOld := "package trips\n\nfunc Summary(n []int) int {\n\treturn avgDwell(n)\n}\n\n" +
		"func avgDwell(stops []int) int {\n\ttotal := 0\n\tfor _, m := range stops {\n\t\ttotal += m\n\t}\n" +
		"\treturn total / len(stops)\n}\n"
	goNew := func(body string) string {
		return "// Package fleet computes trip figures.\npackage fleet\n\nimport \"fmt\"\n\n" +
			"type Trip struct {\n\tKm    int\n\tFuel  float64\n\tStops []int\n}\n\n" +
			"func Summary(t Trip) string {\n\treturn fmt.Sprintf(\"%d km %.1f l %d\", t.Km, fuel(t), avgDwell(t.Stops))\n}\n\n" +
			"func fuel(t Trip) float64 {\n\tif t.Km == 0 {\n\t\treturn 0\n\t}\n\treturn t.Fuel * 100 / float64(t.Km)\n}\n\n" +
			"func avgDwell(stops []int) int {\n\ttotal := 0\n\tfor _, m := range stops {\n\t\ttotal += m\n\t}\n" + body + "}\n"
	}
	for _, c := range []struct {
		name, lang, path string
		line             int
		trees            []map[string]string
		worktree         map[string]string
		wantFile         string
		wantLine         int
		wantStatus       string
	}{
		{
			name: "python: function moved to another file, statement edited there", lang: "python", path: "dockplan/slots.py", line: 6,
			trees: []map[string]string{{"dockplan/slots.py": pyOld},
				{"dockplan/slots.py": pySlots, "dockplan/capacity.py": pyCapacity("    capacity = bay_hours(dock)\r\n    if not capacity:\r\n        return 0.0\r\n    return min(1.0, booked_hours / capacity)\r\n")}},
			wantFile: "dockplan/capacity.py", wantLine: 14, wantStatus: gitrepo.StatusMoved,
		},
		{
			name: "python: function moved, statement removed", lang: "python", path: "dockplan/slots.py", line: 6,
			trees: []map[string]string{{"dockplan/slots.py": pyOld},
				{"dockplan/slots.py": pySlots, "dockplan/capacity.py": pyCapacity("    capacity = DOCKS.get(dock, 0) * 8\r\n    return 0.0 if not capacity else 1.0\r\n")}},
			wantFile: "dockplan/capacity.py", wantLine: 12, wantStatus: gitrepo.StatusDeleted,
		},
		{
			name: "go: file moved and edited, statement replaced in the working tree", lang: "go", path: "trips/trips.go", line: 12,
			trees: []map[string]string{{"trips/trips.go": goOld},
				{"trips/trips.go": "", "internal/fleet/trips.go": goNew("\treturn total / len(stops)\n")}},
			worktree: map[string]string{"internal/fleet/trips.go": goNew("\tif len(stops) == 0 {\n\t\treturn 0\n\t}\n\tavg := float64(total) / float64(len(stops))\n\treturn int(avg + 0.5)\n")},
			wantFile: "internal/fleet/trips.go", wantLine: 28, wantStatus: gitrepo.StatusDeleted,
		},
		{
			name: "go: file moved and edited, statement kept", lang: "go", path: "trips/trips.go", line: 12,
			trees: []map[string]string{{"trips/trips.go": goOld},
				{"trips/trips.go": "", "internal/fleet/trips.go": goNew("\treturn total / len(stops)\n")}},
			wantFile: "internal/fleet/trips.go", wantLine: 28, wantStatus: gitrepo.StatusMoved,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, dir, shas := historyRepo(t, c.trees, c.worktree)
			checkCarry(t, repo, dir, shas[0], c.lang, c.path, c.line, c.wantFile, c.wantLine, c.wantStatus)
		})
	}
}

// TestDeployLabel: a deploy is named by its version, else by its commit's
// first 12 characters.
func TestDeployLabel(t *testing.T) {
	sha := "09ae4987395fe940bb9ffb0ede8cc32b8b5de6ee"
	for _, c := range []struct {
		d    incident.Deploy
		want string
	}{
		{incident.Deploy{Version: "v1.4.0", Commit: sha}, "v1.4.0"},
		{incident.Deploy{Commit: sha}, "09ae4987395f"},
		{incident.Deploy{Commit: "09ae498"}, "09ae498"},
		{incident.Deploy{}, ""},
	} {
		if got := c.d.Label(); got != c.want {
			t.Errorf("%+v.Label() = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestRewrittenMove: a module moved and rewritten in one commit
// (settings.py become config.py, a docstring, a table and a helper now
// above the statement) keeps no neighbour of the statement and is no
// rename to git; the statement, found once among the changed files and in
// a file new since the deploy, is there. The same text in a file that
// existed at the deploy, or a statement deleted from a file still there,
// is not taken for it.
func TestRewrittenMove(t *testing.T) {
	settings := "import os\n\nSMTP_HOST = os.environ.get(\"SMTP_HOST\", \"localhost\")\nSMTP_PORT = int(os.environ[\"SMTP_PORT\"])\n"
	config := "\"\"\"Runtime configuration, from the environment.\"\"\"\nimport os\n\nDEFAULTS = {\"SMTP_HOST\": \"localhost\"}\n\n\n" +
		"def env(name):\n    return os.environ.get(name, DEFAULTS.get(name))\n\n\nSMTP_HOST = env(\"SMTP_HOST\")\nSMTP_PORT = int(os.environ[\"SMTP_PORT\"])\n"
	other := "import os\n\nRETRIES = 3\n"
	for _, c := range []struct {
		name       string
		trees      []map[string]string
		wantFile   string
		wantLine   int
		wantStatus string
	}{
		{
			name:     "module moved and rewritten",
			trees:    []map[string]string{{"mailer/settings.py": settings}, {"mailer/settings.py": "", "mailer/config.py": config}},
			wantFile: "mailer/config.py", wantLine: 12, wantStatus: gitrepo.StatusMoved,
		},
		{
			name: "module deleted, its text in a file older than the deploy",
			trees: []map[string]string{{"mailer/settings.py": settings, "mailer/config.py": other},
				{"mailer/settings.py": "", "mailer/config.py": config}},
			wantFile: "mailer/settings.py", wantLine: 0, wantStatus: gitrepo.StatusMissing,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, dir, shas := historyRepo(t, c.trees, nil)
			checkCarry(t, repo, dir, shas[0], "python", "mailer/settings.py", 4, c.wantFile, c.wantLine, c.wantStatus)
		})
	}
}

// TestUnrecordedDeploy: the version that ran when the errors started
// (its label's commit) is newer than the last deploy event before them,
// which a deploy nobody recorded explains. The commits of that newer
// version are the ones shipped right before the errors; those of the
// event's deploy had been running. When the event names what ran, it is
// weighed as always.
func TestUnrecordedDeploy(t *testing.T) {
	repo, dir, shas := historyRepo(t, []map[string]string{
		{"fees.py": "def fee(o):\n    return o[\"total\"] * 0.1\n"},
		{"fees.py": "def fee(o):\n    return o[\"total\"] * 0.1 / o[\"items\"]\n"},
	}, nil)
	event := incident.Deploy{Time: time.Date(2026, 11, 19, 8, 0, 0, 0, time.UTC), Service: "fees", Version: "v2.4.0", Commit: shas[0]}
	for _, c := range []struct {
		name, running string
		want          map[string]string // sha -> the deploy reason it gets
	}{
		{"the label names a newer commit", shas[1], map[string]string{
			shas[0]: "already running before deploy 0123abcd (no deploy event)",
			shas[1]: "shipped in deploy 0123abcd (no deploy event) right before the errors started",
		}},
		{"the label names the event's commit", shas[0], map[string]string{
			shas[0]: "shipped in deploy v2.4.0 right before the errors started",
			shas[1]: "",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(Config{Root: dir, Repo: repo, Deploys: []incident.Deploy{event}})
			inc := &incident.Incident{Service: "fees", Versions: []string{"0123abcd"}, DeployedCommit: c.running,
				FirstSeen: event.Time.Add(120 * time.Hour), Deploy: &event}
			byCommit := map[string]*incident.Suspect{}
			for _, sha := range shas {
				byCommit[sha] = &incident.Suspect{Commit: incident.Commit{SHA: sha}}
			}
			a.weighDeploy(context.Background(), inc, byCommit)
			for sha, want := range c.want {
				got := strings.Join(byCommit[sha].Reasons, "; ")
				if got != want {
					t.Errorf("%s: reasons %q, want %q", shortSHA(sha), got, want)
				}
			}
		})
	}
}
