package lsp

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHeadChangeReanalyses: a commit or checkout moves HEAD, and lines are
// carried to HEAD, so the server must re-analyse without waiting for the
// poll interval (an hour here). It watches .git through file
// notifications, so an idle server does no work.
func TestHeadChangeReanalyses(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := loadWorkspace(t)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "first")

	eng := &fakeEngine{}
	eng.set(allIncidents(), nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	calls := func() int {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		return eng.calls
	}
	waitFor(t, func() bool { return calls() >= 1 })
	before := calls()

	if err := os.WriteFile(filepath.Join(root, "NEW.md"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "NEW.md")
	git("commit", "-q", "-m", "second")
	waitFor(t, func() bool { return calls() > before })

	// A checkout of another branch moves HEAD too.
	before = calls()
	git("checkout", "-q", "-b", "topic")
	waitFor(t, func() bool { return calls() > before })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the test's safety limit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIsRefChange(t *testing.T) {
	g := "/w/.git"
	for name, want := range map[string]bool{
		"/w/.git/HEAD":              true,
		"/w/.git/HEAD.lock":         false,
		"/w/.git/refs/heads/main":   true,
		"/w/.git/refs/heads/a/b":    true,
		"/w/.git/packed-refs":       true,
		"/w/.git/index":             false,
		"/w/.git/objects/ab/cdef":   false,
		"/w/.git/refs/heads/x.lock": false,
	} {
		if got := isRefChange(g, name); got != want {
			t.Errorf("isRefChange(%s) = %v, want %v", name, got, want)
		}
	}
}
