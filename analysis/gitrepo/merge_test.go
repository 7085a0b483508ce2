package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMergeHistory builds a history where the failing line came from a
// feature branch merged with a merge commit, as most teams' pull requests
// land: blame names the branch's commit, not the merge, and Commits lists
// every commit of the range with its parents (the merge with two).
func TestMergeHistory(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com",
			"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "f.go"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("package f\n\nfunc F(s []int) int {\n\treturn 0\n}\n")
	git("add", ".")
	git("commit", "-qm", "base")
	git("checkout", "-qb", "feat")
	write("package f\n\nfunc F(s []int) int {\n\treturn s[3]\n}\n")
	git("commit", "-qam", "feat: read the fourth")
	git("checkout", "-q", "main")
	write("// Package f.\npackage f\n\nfunc F(s []int) int {\n\treturn 0\n}\n")
	git("commit", "-qam", "main: doc comment")
	git("merge", "-q", "--no-ff", "feat", "-m", "Merge feat")

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	head, err := r.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Blame(ctx, head, "f.go", 5)
	if err != nil || c.Summary != "feat: read the fourth" {
		t.Fatalf("blame of the failing line = %q, %v; want the branch's commit", c.Summary, err)
	}
	commits, err := r.Commits(ctx, "", head)
	if err != nil {
		t.Fatal(err)
	}
	parents := map[string]int{}
	for _, c := range commits {
		parents[c.Summary] = len(c.Parents)
	}
	if len(commits) != 4 || parents["Merge feat"] != 2 || parents["feat: read the fourth"] != 1 || parents["base"] != 0 {
		t.Fatalf("commits and their parent counts = %v", parents)
	}
}
