package analysis

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/incident"
)

// gitCLI runs git in dir with a fixed identity.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestLineNotYetAtHead: production runs a commit the checkout does not have
// (the developer has not pulled; a release branch not merged back). The
// failing line was written by a commit outside HEAD's history, so no line
// at HEAD is it: the carry must say so (status unknown, the commit HEAD
// lacks named) instead of calling it deleted, or matching it to a similar
// statement HEAD does have. A line HEAD's own history deleted is still
// reported deleted.
func TestLineNotYetAtHead(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "stats.js"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "'use strict';\n\nfunction duration(trip) {\n  const dur = trip.time.end - trip.time.start;\n  return dur;\n}\n"
	gitCLI(t, dir, "init", "-q", "-b", "main")
	write(base)
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qm", "base")
	gitCLI(t, dir, "checkout", "-qb", "release")
	write("'use strict';\n\nfunction distance(trip) {\n  const km = trip.odometer.end - trip.odometer.start;\n  return km;\n}\n\n" + base[len("'use strict';\n\n"):])
	if err := os.WriteFile(filepath.Join(dir, "odometer.js"), []byte("'use strict';\nexports.km = (trip) => trip.odometer.end - trip.odometer.start;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qam", "stats: distance per trip")
	deployed := gitCLI(t, dir, "rev-parse", "HEAD")
	gitCLI(t, dir, "checkout", "-q", "main")

	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	carryIn := func(file string, line int) incident.MappedFrame {
		a := New(Config{Root: dir, Repo: repo})
		mf := incident.MappedFrame{File: file, RepoPathAtDeploy: file, Line: line, OriginalLine: line, Mapped: true, InApp: true}
		a.carry(context.Background(), &mf, "node", deployed, "test")
		return mf
	}
	carry := func(line int) incident.MappedFrame { return carryIn("stats.js", line) }
	// HEAD behind the deploy.
	mf := carry(4)
	if mf.LineStatus != "unknown" || !strings.Contains(mf.Note, "not in this checkout") || !strings.Contains(mf.Note, "older than the deployed commit") {
		t.Errorf("HEAD behind: carried to %d (%s) %q; want unknown, naming the commit HEAD lacks", mf.Line, mf.LineStatus, mf.Note)
	}
	// A file HEAD does not have yet is not a deleted one.
	if mf := carryIn("odometer.js", 2); mf.LineStatus != "unknown" || !strings.Contains(mf.Note, "not in this checkout") {
		t.Errorf("new file: carried to %s:%d (%s) %q; want unknown", mf.File, mf.Line, mf.LineStatus, mf.Note)
	}
	// A line both have is carried as usual.
	if mf := carry(10); mf.LineStatus != "moved" || mf.Line != 5 {
		t.Errorf("shared line: carried to %d (%s) %q, want 5 moved", mf.Line, mf.LineStatus, mf.Note)
	}
	// HEAD diverged from the deploy (main moved on without the release).
	write(base + "\nmodule.exports = { duration };\n")
	gitCLI(t, dir, "commit", "-qam", "main: exports")
	if mf := carry(4); mf.LineStatus != "unknown" || !strings.Contains(mf.Note, "does not contain it") {
		t.Errorf("diverged: carried to %d (%s) %q; want unknown", mf.Line, mf.LineStatus, mf.Note)
	}
	// Once merged, deleting the line at HEAD is a deletion again.
	gitCLI(t, dir, "merge", "-q", "--no-edit", "release")
	write(base + "\nmodule.exports = { duration };\n")
	gitCLI(t, dir, "commit", "-qam", "stats: drop distance")
	if mf := carry(4); mf.LineStatus != "deleted" {
		t.Errorf("deleted at HEAD: carried to %d (%s) %q; want deleted", mf.Line, mf.LineStatus, mf.Note)
	}
}

// TestDeployedCommitNotInClone: a deploy event names a commit the clone
// lacks (CI's shallow clone): the deployed commit stays unknown, and the
// note says which commit is missing rather than only "unknown".
func TestDeployedCommitNotInClone(t *testing.T) {
	repo, _ := commitRepo(t, 2)
	missing := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	a := New(Config{Root: t.TempDir(), Repo: repo, Deploys: []incident.Deploy{
		{Time: at.Add(-time.Hour), Service: "payroll", Env: "prod", Version: "2.6.0", Commit: missing},
	}})
	sha, how := a.deployedCommit(context.Background(), "payroll", "prod", "2.6.0", at)
	if sha != "" || !strings.Contains(how, "0123456") || !strings.Contains(how, "not in this repository") {
		t.Fatalf("deployedCommit = %q, %q; want none, naming the missing commit", sha, how)
	}
	mf := incident.MappedFrame{File: "f.js", RepoPathAtDeploy: "f.js", Line: 1, OriginalLine: 1, Mapped: true, InApp: true}
	a.carry(context.Background(), &mf, "node", sha, how)
	if mf.LineStatus != "unknown" || !strings.Contains(mf.Note, "not in this repository") {
		t.Errorf("carry = %s %q", mf.LineStatus, mf.Note)
	}
}

// TestNoBlameWithoutDeployedCommit: the deploy event names a commit this
// clone does not have (a branch never fetched, CI's merge ref), and HEAD
// has changed the file since: the production line number is not HEAD's,
// so blaming HEAD at it would name whichever commit wrote an unrelated
// line. No suspect is named from the lines; the evidence says why.
func TestNoBlameWithoutDeployedCommit(t *testing.T) {
	repo, dir, shas := historyRepo(t, []map[string]string{
		{"app/calc.py": "def ratio(a, b):\n    x = 1\n    return a / b\n"},
		{"app/calc.py": "import math\n\n\ndef ratio(a, b):\n    x = 1\n    return a / b\n"},
	}, nil)
	missing := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	dep := incident.Deploy{Time: at.Add(-time.Hour), Service: "calc", Env: "prod", Version: "v2", Commit: missing}
	a := New(Config{Root: dir, Repo: repo, Deploys: []incident.Deploy{dep}})
	inc := &incident.Incident{ErrorType: "ZeroDivisionError", Message: "ZeroDivisionError: division by zero", FirstSeen: at, Deploy: &dep,
		Frames: []incident.MappedFrame{{File: "app/calc.py", RepoPathAtDeploy: "app/calc.py", Line: 3, OriginalLine: 3, Mapped: true, InApp: true}}}
	rc := a.rootCause(context.Background(), inc, shas[1])
	if rc.SuspectCommit != nil {
		t.Errorf("suspect %s %q named from HEAD's line 3, which is not the deployed line", rc.SuspectCommit.SHA[:7], rc.SuspectCommit.Summary)
	}
	found := false
	for _, e := range rc.Evidence {
		found = found || strings.Contains(e.Text, "not in this repository")
	}
	if !found {
		t.Errorf("evidence %+v does not say the deployed commit is missing", rc.Evidence)
	}
	// Without any deploy to go by, HEAD's blame is all there is.
	inc.Deploy = nil
	a = New(Config{Root: dir, Repo: repo})
	if rc := a.rootCause(context.Background(), inc, shas[1]); rc.SuspectCommit == nil {
		t.Error("no suspect when no deploy names a commit")
	}
}

// TestUncarriedLineOutsideItsFunction: with no deployed commit to carry
// through, a printed line number that lands in another function of the
// working file is not the statement: the location goes to the named
// function's declaration and says the line is not known. A printed line
// inside the named function stays.
func TestUncarriedLineOutsideItsFunction(t *testing.T) {
	dir := t.TempDir()
	src := "\"\"\"Rates.\"\"\"\n\n\ndef cents(v):\n    return round(v, 2)\n\n\ndef convert(c, amount):\n    if c == 'EUR':\n        return amount\n    return cents(amount * find(c).rate)\n"
	if err := os.WriteFile(filepath.Join(dir, "rates.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, _ := commitRepo(t, 1)
	a := New(Config{Root: dir, Repo: repo})
	frame := func(line int) incident.MappedFrame {
		mf := incident.MappedFrame{Function: "convert", File: "rates.py", RepoPathAtDeploy: "rates.py", Line: line, OriginalLine: line, Mapped: true, InApp: true}
		a.carry(context.Background(), &mf, "python", "", "the deploy event's commit 0123456 is not in this repository")
		return mf
	}
	if mf := frame(5); mf.Line != 8 || mf.LineStatus != "unknown" || !strings.Contains(mf.Note, "outside convert") {
		t.Errorf("line 5 (in cents): got %d (%s) %q, want convert's declaration, 8", mf.Line, mf.LineStatus, mf.Note)
	}
	if mf := frame(11); mf.Line != 11 || strings.Contains(mf.Note, "outside") {
		t.Errorf("line 11 (in convert): got %d %q, want it kept", mf.Line, mf.Note)
	}
}

// TestEarlierVersionAtHead: the deploy's branch rewrote a line that HEAD
// still has in its earlier form (a hotfix not merged back): the carry
// finds the statement, and the note says HEAD shows an earlier version
// and which commit it lacks. After the merge the note is gone.
func TestEarlierVersionAtHead(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "pick.js"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := func(stmt string) string {
		return "'use strict';\n\nfunction next(items, i) {\n  " + stmt + "\n  return v.name;\n}\n\nmodule.exports = { next };\n"
	}
	gitCLI(t, dir, "init", "-q", "-b", "main")
	write(src("const v = items[i];"))
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qm", "base")
	gitCLI(t, dir, "checkout", "-qb", "hotfix")
	write(src("const v = items[i + 1];"))
	gitCLI(t, dir, "commit", "-qam", "pick: skip the header row")
	deployed := gitCLI(t, dir, "rev-parse", "HEAD")
	gitCLI(t, dir, "checkout", "-q", "main")
	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	carry := func() incident.MappedFrame {
		a := New(Config{Root: dir, Repo: repo})
		mf := incident.MappedFrame{File: "pick.js", RepoPathAtDeploy: "pick.js", Line: 4, OriginalLine: 4, Mapped: true, InApp: true}
		a.carry(context.Background(), &mf, "node", deployed, "test")
		return mf
	}
	if mf := carry(); mf.Line != 4 || !strings.Contains(mf.Note, "earlier version") || !strings.Contains(mf.Note, "skip the header row") {
		t.Errorf("hotfix not merged: %d (%s) %q; want line 4 noted as an earlier version", mf.Line, mf.LineStatus, mf.Note)
	}
	gitCLI(t, dir, "merge", "-q", "--no-edit", "hotfix")
	if mf := carry(); mf.Line != 4 || strings.Contains(mf.Note, "earlier version") {
		t.Errorf("merged: %d (%s) %q; want line 4, no note", mf.Line, mf.LineStatus, mf.Note)
	}
}
