package gitrepo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// gitCLI runs the git command line in dir, for states go-git cannot make
// (shallow clones, linked worktrees, a rebase stopped on a conflict).
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(strings.Join(args, " "), "rebase") {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestShallowClone(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	dir := filepath.Join(t.TempDir(), "shallow")
	gitCLI(t, f.dir, "clone", "-q", "--depth", "1", "file://"+f.dir, dir)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Blame needs history the clone lacks: a clear error, not a panic.
	if _, err := r.Blame(ctx, "HEAD", "cart/price.go", 1); !errors.Is(err, ErrShallow) {
		t.Errorf("Blame in a shallow clone: err = %v, want ErrShallow", err)
	}
	// History lists what is there, as git log does.
	cs, err := r.Commits(ctx, "", "HEAD")
	if err != nil || len(cs) != 1 || cs[0].SHA != f.shas[4] {
		t.Errorf("Commits in a shallow clone = %+v, %v; want only HEAD", cs, err)
	}
	// A deployed commit that was not fetched is an unknown version.
	if _, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", 1); !errors.Is(err, ErrUnknownVersion) {
		t.Errorf("CarryLine from an unfetched commit: err = %v, want ErrUnknownVersion", err)
	}
}

// TestRebaseInProgress stops a rebase on a conflict: HEAD is detached at the
// commit git stopped at, the file on disk holds conflict markers, and the
// package keeps answering.
func TestRebaseInProgress(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	gitCLI(t, f.dir, "checkout", "-q", "-b", "side", f.shas[3])
	f.write(t, "cart/price.go", strings.Replace(f.show(t, 3, "cart/price.go"), "rate = 20", "rate = 22", 1))
	gitCLI(t, f.dir, "commit", "-q", "-am", "side: rate 22")
	gitCLI(t, f.dir, "rebase", "master") // conflicts with commit 4's rate = 25
	r := openFixture(t, f)
	if got := r.State(); got != "rebase" {
		t.Fatalf("State() = %q, want rebase", got)
	}
	ctx := context.Background()
	head, err := r.Head(ctx)
	if err != nil || head != f.shas[4] {
		t.Errorf("Head mid-rebase = %s, %v; want the commit rebased onto %s", head, err, f.shas[4])
	}
	line := lineOf(t, f.show(t, 2, "cart/price.go"), "return total * 8 / 100")
	got, err := r.CarryLine(ctx, f.shas[2], "cart/price.go", line)
	want := lineOf(t, f.read(t, "cart/price.go"), "return total * 8 / 100")
	if err != nil || got.Line != want {
		t.Errorf("CarryLine mid-rebase = %+v, %v; want line %d", got, err, want)
	}
}

func TestLockedIndex(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	f.write(t, ".git/index.lock", "")
	r := openFixture(t, f)
	ctx := context.Background()
	line := lineOf(t, f.show(t, 2, "cart/cart.go"), "first := items[0]")
	if _, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", line); err != nil {
		t.Errorf("CarryLine with index.lock: %v (the index is never needed)", err)
	}
	if c, err := r.Blame(ctx, "HEAD", "cart/price.go", 1); err != nil || c.SHA != f.shas[1] {
		t.Errorf("Blame with index.lock: %+v, %v", c, err)
	}
}

func TestLinkedWorktree(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	wt := filepath.Join(t.TempDir(), "wt")
	gitCLI(t, f.dir, "worktree", "add", "-q", "-b", "old", wt, f.shas[3])
	r, err := Open(filepath.Join(wt, "cart"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Root() != wt {
		t.Errorf("Root() = %s, want %s", r.Root(), wt)
	}
	ctx := context.Background()
	if head, err := r.Head(ctx); err != nil || head != f.shas[3] {
		t.Errorf("Head() in the worktree = %s, %v; want %s", head, err, f.shas[3])
	}
	line := lineOf(t, f.show(t, 2, "cart/cart.go"), "first := items[0]")
	got, err := r.CarryLine(ctx, "v1.2.0", "cart/cart.go", line)
	want := lineOf(t, f.show(t, 3, "cart/cart.go"), "first := items[0]")
	if err != nil || got.Path != "cart/cart.go" || got.Line != want {
		t.Errorf("CarryLine in the worktree = %+v, %v; want cart/cart.go:%d", got, err, want)
	}
}

// TestResolveAmbiguousPrefix stores a commit whose sha shares its first four
// hex digits with commit 1 (found by trying messages), so that the prefix
// names two commits.
func TestResolveAmbiguousPrefix(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	c1, err := f.repo.CommitObject(plumbing.NewHash(f.shas[1]))
	if err != nil {
		t.Fatal(err)
	}
	prefix := f.shas[1][:4]
	twin := *c1
	for i := 0; ; i++ {
		twin.Message = "twin " + strconv.Itoa(i)
		obj := f.repo.Storer.NewEncodedObject()
		if err := twin.Encode(obj); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(obj.Hash().String(), prefix) {
			if _, err := f.repo.Storer.SetEncodedObject(obj); err != nil {
				t.Fatal(err)
			}
			break
		}
		if i > 5_000_000 {
			t.Fatal("no colliding sha found")
		}
	}
	r := openFixture(t, f)
	if _, err := r.Resolve(context.Background(), prefix); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Resolve(%s) err = %v, want ErrAmbiguous", prefix, err)
	}
	if got, err := r.Resolve(context.Background(), f.shas[1][:12]); err != nil || got != f.shas[1] {
		t.Errorf("a longer prefix must still resolve: %s, %v", got, err)
	}
}
