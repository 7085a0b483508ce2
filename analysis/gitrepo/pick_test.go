package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestPickedFrom(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"fix: guard\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n", "0123456789abcdef0123456789abcdef01234567"},
		{"fix\n\n(cherry picked from commit aaaaaaa)\n(cherry picked from commit bbbbbbbbbb)", "bbbbbbbbbb"}, // picked twice: the last
		{"fix\n\n(cherry picked from the squash of #57 on main)", ""},
		{"fix\n\n(cherry picked from commit 12345)", ""}, // too short to name a commit
		{"fix: nothing picked", ""},
	} {
		if got := pickedFrom(tc.msg); got != tc.want {
			t.Errorf("pickedFrom(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// TestBlameNamesCherryPickOrigin: a fix picked onto a release branch with
// `git cherry-pick -x` is blamed on the pick (the commit that shipped), and
// the commit says which one it was picked from.
func TestBlameNamesCherryPickOrigin(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "f.go"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCLI(t, dir, "init", "-q", "-b", "main")
	write("package f\n\nfunc F(s []int) int {\n\treturn 0\n}\n")
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qm", "base")
	gitCLI(t, dir, "branch", "release")
	write("package f\n\nfunc F(s []int) int {\n\treturn s[3]\n}\n")
	gitCLI(t, dir, "commit", "-qam", "read the fourth")
	orig := gitCLI(t, dir, "rev-parse", "HEAD")
	gitCLI(t, dir, "checkout", "-q", "release")
	gitCLI(t, dir, "cherry-pick", "-x", orig)
	pick := gitCLI(t, dir, "rev-parse", "HEAD")
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Blame(context.Background(), pick, "f.go", 4)
	if err != nil || c.SHA != pick || c.PickedFrom != orig {
		t.Fatalf("blame = %s picked from %q, %v; want the pick %s, picked from %s", c.SHA, c.PickedFrom, err, pick, orig)
	}
}
