package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openFixture(t testing.TB, f *fixture) *Repo {
	t.Helper()
	r, err := Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCarryLine carries lines of commit 2 (the deploy that crashed) to the
// working tree after commits 3 and 4.
func TestCarryLine(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	tests := []struct {
		name       string
		path, text string // the line at commit 2
		wantPath   string
		wantText   string // the line expected on disk
		wantStatus string
		wantNote   string // substring
	}{
		{"unchanged", "cart/price.go", "package cart", "cart/price.go", "package cart", StatusUnchanged, ""},
		{"unchanged through a rename", "cart/cart.go", "func Total(items []Item) int {", "cart/total.go", "func Total(items []Item) int {", StatusUnchanged, "renamed from cart/cart.go"},
		{"moved by lines inserted above", "cart/price.go", "return total * 8 / 100", "cart/price.go", "return total * 8 / 100", StatusMoved, ""},
		{"moved through a rename", "cart/cart.go", "first := items[0]", "cart/total.go", "first := items[0]", StatusMoved, "renamed from cart/cart.go"},
		{"statement edited slightly", "cart/price.go", "if total > 1000 {", "cart/price.go", "if total >= 1000 {", StatusMoved, ""},
		{"statement deleted", "cart/price.go", `log.Println("discount rate", rate)`, "cart/price.go", "return total * rate / 100", StatusDeleted, "no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := lineOf(t, f.show(t, 2, tt.path), tt.text)
			got, err := r.CarryLine(ctx, f.shas[2], tt.path, line)
			if err != nil {
				t.Fatal(err)
			}
			want := lineOf(t, f.read(t, tt.wantPath), tt.wantText)
			if got.Path != tt.wantPath || got.Line != want || got.Status != tt.wantStatus {
				t.Errorf("CarryLine(%s:%d) = %+v, want %s:%d %s", tt.path, line, got, tt.wantPath, want, tt.wantStatus)
			}
			if !strings.Contains(got.Note, tt.wantNote) {
				t.Errorf("note %q does not mention %q", got.Note, tt.wantNote)
			}
		})
	}
}

func TestCarryLineMissingFile(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	got, err := r.CarryLine(context.Background(), f.shas[2], "cart/legacy.go", 4)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusMissing || got.Line != 0 || !strings.Contains(got.Note, "deleted") {
		t.Errorf("got %+v, want missing with a note", got)
	}
}

// TestCarryLineUncommittedEdits checks that the file on disk, not HEAD, is
// the target, and that the cached line map notices the edit.
func TestCarryLineUncommittedEdits(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	line := lineOf(t, f.show(t, 2, "cart/cart.go"), "first := items[0]")
	before, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", line)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(f.read(t, "cart/total.go"), "func Shipping(", "// TODO: handle empty carts.\nfunc Shipping(", 1)
	f.write(t, "cart/total.go", edited)
	after, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", line)
	if err != nil {
		t.Fatal(err)
	}
	want := lineOf(t, edited, "first := items[0]")
	if after.Line != want || after.Line != before.Line+1 || after.Status != StatusMoved {
		t.Errorf("after an uncommitted edit: %+v (before %+v), want line %d moved", after, before, want)
	}
	// Deleting the file on disk makes it missing.
	if err := os.Remove(filepath.Join(f.dir, "cart", "total.go")); err != nil {
		t.Fatal(err)
	}
	gone, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", line)
	if err != nil || gone.Status != StatusMissing {
		t.Errorf("after deleting the file: %+v, %v; want missing", gone, err)
	}
}

func TestCarryLineErrors(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	tests := []struct {
		name, from, path string
		line             int
		want             error
	}{
		{"path outside the repo", f.shas[2], "../etc/passwd", 1, ErrOutsideRepo},
		{"absolute path outside the repo", f.shas[2], "/etc/passwd", 1, ErrOutsideRepo},
		{"file not in the commit", f.shas[2], "cart/nope.go", 1, ErrFileNotFound},
		{"unknown version", "v9.9.9", "cart/cart.go", 1, ErrUnknownVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.CarryLine(ctx, tt.from, tt.path, tt.line)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", 999); err == nil {
		t.Error("a line past the end of the file must be an error")
	}
	// An absolute path inside the working tree is accepted.
	abs := filepath.Join(f.dir, "cart", "price.go")
	if got, err := r.CarryLine(ctx, f.shas[4], abs, 1); err != nil || got.Path != "cart/price.go" {
		t.Errorf("absolute path inside the repo: %+v, %v", got, err)
	}
}

func TestCancelledContext(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.CarryLine(ctx, f.shas[2], "cart/cart.go", 3); !errors.Is(err, context.Canceled) {
		t.Errorf("CarryLine: err = %v, want context.Canceled", err)
	}
	if _, err := r.Blame(ctx, f.shas[4], "cart/total.go", 3); !errors.Is(err, context.Canceled) {
		t.Errorf("Blame: err = %v, want context.Canceled", err)
	}
	if _, err := r.Commits(ctx, "", f.shas[4]); !errors.Is(err, context.Canceled) {
		t.Errorf("Commits: err = %v, want context.Canceled", err)
	}
}

func TestResolve(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	tests := []struct {
		version string
		want    int // fixture commit
	}{
		{f.shas[2], 2},
		{strings.ToUpper(f.shas[2]), 2},
		{f.shas[2][:7], 2},
		{f.shas[3][:4], 3},
		{"v1.2.0", 2},                     // annotated tag
		{"1.2.0", 2},                      // same, without the v
		{"1.3.0", 3},                      // lightweight tag
		{"v1.3.0", 3},                     // same, with a v
		{"master", 4},                     // branch
		{"HEAD", 4},                       // HEAD
		{"v1.2.0-2-g" + f.shas[4][:7], 4}, // git describe
		{"v0.0.0-20261101110000-" + f.shas[3][:12], 3}, // Go pseudo-version
		{"2026.11.06-" + f.shas[3][:10], 3},            // an image tag embedding a short sha
		{"1.4.0+" + f.shas[2][:10], 2},                 // semver build metadata
		{"main-" + f.shas[4][:7] + "-1794829927", 4},   // Flux's sortable image tag: branch, sha, unix time
		{"sha-" + f.shas[3][:7], 3},                    // docker/metadata-action's sha tag
		{f.shas[2][:8] + "-main", 2},                   // sha first, branch after
		{"1.4.0+build.42." + f.shas[2][:9] + ".7", 2},  // sha inside build metadata
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.version)
			if err != nil || got != f.shas[tt.want] {
				t.Errorf("Resolve(%q) = %s, %v; want commit %d %s", tt.version, got, err, tt.want, f.shas[tt.want])
			}
		})
	}
	for _, v := range []string{"v9.9.9", "deadbeef", "", "not a version", "abc", "build-1234567", "2026.11.06-deadbeef0",
		"main-deadbeef0-1794829927", "release-1794829927-20261120"} {
		if got, err := r.Resolve(context.Background(), v); !errors.Is(err, ErrUnknownVersion) {
			t.Errorf("Resolve(%q) = %s, %v; want ErrUnknownVersion", v, got, err)
		}
	}
}

func TestBlame(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	tests := []struct {
		name, path, text string // a line at commit 4
		want             int    // fixture commit
		author, summary  string
	}{
		{"through the rename", "cart/total.go", "first := items[0]", 2, "Bob Builder", "cart: charge shipping by the first item"},
		{"edited line", "cart/price.go", "if total >= 1000 {", 3, "Carol Chen", "cart: count items, discount from 1000 included"},
		{"line added with the rename", "cart/total.go", "// Heavier classes cost more.", 4, "Dave Dobbs", "cart: move totals to total.go, drop debug logging"},
		{"untouched since the start", "cart/price.go", "return total * 8 / 100", 1, "Alice Liddell", "cart: add totals and discounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := lineOf(t, f.show(t, 4, tt.path), tt.text)
			got, err := r.Blame(ctx, f.shas[4], tt.path, line)
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA != f.shas[tt.want] || got.Author != tt.author || got.Summary != tt.summary || got.Time.IsZero() {
				t.Errorf("Blame(%s:%d) = %+v, want commit %d by %s: %q", tt.path, line, got, tt.want, tt.author, tt.summary)
			}
		})
	}
}

func TestBlameErrors(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	if _, err := r.Blame(ctx, "HEAD", "cart/legacy.go", 1); !errors.Is(err, ErrFileNotFound) {
		t.Errorf("blame of a file HEAD lacks: err = %v, want ErrFileNotFound", err)
	}
	if _, err := r.Blame(ctx, "HEAD", "cart/price.go", 999); err == nil {
		t.Error("blame past the end of the file must fail")
	}
	if _, err := r.BlameRange(ctx, "HEAD", "cart/price.go", 5, 4); err == nil {
		t.Error("an empty range must fail")
	}
}

func TestBlameRange(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	content := f.show(t, 4, "cart/total.go")
	from := lineOf(t, content, "// Shipping charges by the first item's weight class.")
	to := lineOf(t, content, "first := items[0]")
	got, err := r.BlameRange(context.Background(), f.shas[4], "cart/total.go", from, to)
	if err != nil {
		t.Fatal(err)
	}
	// comment (2), added comment (4), func line (2), crash line (2)
	want := []string{f.shas[2], f.shas[4], f.shas[2], f.shas[2]}
	var shas []string
	for _, c := range got {
		shas = append(shas, c.SHA)
	}
	if !slices.Equal(shas, want) {
		t.Errorf("BlameRange = %v, want %v", shas, want)
	}
}

// TestBlameIgnoreRevs blames a line whose last change is a re-indentation:
// listed in .git-blame-ignore-revs, the reformat is skipped.
func TestBlameIgnoreRevs(t *testing.T) {
	f := buildFixture(t, "ignore_revs.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	line := lineOf(t, f.show(t, 3, "index.go"), "x := a[i+1]")
	got, err := r.Blame(ctx, "HEAD", "index.go", line)
	if err != nil || got.SHA != f.shas[3] {
		t.Fatalf("without the ignore file: %+v, %v; want the reformat %s", got, err, f.shas[3])
	}
	f.write(t, IgnoreRevsFile, "# reformatting\n"+f.shas[3][:12]+" # tabs to spaces\n")
	got, err = r.Blame(ctx, "HEAD", "index.go", line)
	if err != nil || got.SHA != f.shas[2] || got.Author != "Bob Builder" {
		t.Errorf("with the ignore file: %+v, %v; want Bob's %s", got, err, f.shas[2])
	}
	// A line the ignored commit only re-indented but that predates it too.
	ret := lineOf(t, f.show(t, 3, "index.go"), "return x")
	if got, err := r.Blame(ctx, "HEAD", "index.go", ret); err != nil || got.SHA != f.shas[1] {
		t.Errorf("return line: %+v, %v; want %s", got, err, f.shas[1])
	}
}

// TestBlameText: BlameText looks through a commit that changed only the
// line's white space, to the commit that wrote its text; Blame does not.
// A line whose text the last commit changed stays blamed on it.
func TestBlameText(t *testing.T) {
	f := buildFixture(t, "ignore_revs.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	for _, tt := range []struct {
		text        string
		blame, want int // fixture commits: Blame's answer, BlameText's
	}{
		{"x := a[i+1]", 3, 2},
		{"return x", 3, 1},
		{"func Lookup(a []int, i int) int {", 1, 1},
	} {
		line := lineOf(t, f.show(t, 3, "index.go"), tt.text)
		got, err := r.Blame(ctx, "HEAD", "index.go", line)
		if err != nil || got.SHA != f.shas[tt.blame] {
			t.Errorf("Blame(%q) = %s, %v; want commit %d", tt.text, got.SHA, err, tt.blame)
		}
		got, err = r.BlameText(ctx, "HEAD", "index.go", line)
		if err != nil || got.SHA != f.shas[tt.want] {
			t.Errorf("BlameText(%q) = %s, %v; want commit %d", tt.text, got.SHA, err, tt.want)
		}
	}
	// The text changed by the last commit: history.txtar's commit 3 edits
	// "if total > 1000 {" into "if total >= 1000 {".
	h := buildFixture(t, "history.txtar")
	hr := openFixture(t, h)
	line := lineOf(t, h.show(t, 4, "cart/price.go"), "if total >= 1000 {")
	if got, err := hr.BlameText(ctx, h.shas[4], "cart/price.go", line); err != nil || got.SHA != h.shas[3] {
		t.Errorf("BlameText of an edited line = %s, %v; want commit 3", got.SHA, err)
	}
}

func TestHistory(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()

	files, err := r.ChangedFiles(ctx, f.shas[2], f.shas[4])
	wantFiles := []string{"cart/cart.go", "cart/legacy.go", "cart/price.go", "cart/total.go"}
	if err != nil || !slices.Equal(files, wantFiles) {
		t.Errorf("ChangedFiles(2,4) = %v, %v; want %v", files, err, wantFiles)
	}
	files, err = r.ChangedFiles(ctx, "", f.shas[1])
	if want := []string{"cart/cart.go", "cart/price.go"}; err != nil || !slices.Equal(files, want) {
		t.Errorf("ChangedFiles(\"\",1) = %v, %v; want %v", files, err, want)
	}

	commits, err := r.Commits(ctx, f.shas[2], f.shas[4])
	if err != nil || len(commits) != 2 || commits[0].SHA != f.shas[4] || commits[1].SHA != f.shas[3] {
		t.Errorf("Commits(2,4) = %+v, %v; want commits 4 and 3", commits, err)
	}
	all, err := r.Commits(ctx, "", "HEAD")
	if err != nil || len(all) != 4 || all[3].SHA != f.shas[1] || all[3].Author != "Alice Liddell" {
		t.Errorf("Commits(\"\",HEAD) = %+v, %v; want 4 commits ending with Alice's", all, err)
	}

	for _, tt := range []struct {
		a, b int
		want bool
	}{{2, 4, true}, {4, 2, false}, {2, 2, true}, {1, 3, true}} {
		got, err := r.IsAncestor(ctx, f.shas[tt.a], f.shas[tt.b])
		if err != nil || got != tt.want {
			t.Errorf("IsAncestor(%d, %d) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}

	b, err := r.FileAt(ctx, "v1.2.0", "cart/legacy.go")
	if err != nil || !strings.Contains(string(b), "OldTotal") {
		t.Errorf("FileAt(v1.2.0, legacy.go) = %q, %v", b, err)
	}
	if _, err := r.FileAt(ctx, "HEAD", "cart/legacy.go"); !errors.Is(err, ErrFileNotFound) {
		t.Errorf("FileAt(HEAD, legacy.go): err = %v, want ErrFileNotFound", err)
	}
}

func TestOpen(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Errorf("Open(non-git dir): err = %v, want ErrNotRepo", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Open(missing dir) must fail")
	}
	f := buildFixture(t, "history.txtar")
	r, err := Open(filepath.Join(f.dir, "cart"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Root() != f.dir {
		t.Errorf("Root() = %s, want %s", r.Root(), f.dir)
	}
	head, err := r.Head(context.Background())
	if err != nil || head != f.shas[4] {
		t.Errorf("Head() = %s, %v; want %s", head, err, f.shas[4])
	}
}

// TestConcurrentUse shares one Repo between goroutines, as the language
// server's handlers do (run with -race).
func TestConcurrentUse(t *testing.T) {
	f := buildFixture(t, "history.txtar")
	r := openFixture(t, f)
	ctx := context.Background()
	line := lineOf(t, f.show(t, 2, "cart/cart.go"), "first := items[0]")
	want := lineOf(t, f.read(t, "cart/total.go"), "first := items[0]")
	blameLine := lineOf(t, f.show(t, 4, "cart/total.go"), "first := items[0]")
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			if i%2 == 0 {
				c, err := r.CarryLine(ctx, "v1.2.0", "cart/cart.go", line)
				if err == nil && c.Line != want {
					err = fmt.Errorf("carried to %d, want %d", c.Line, want)
				}
				errs <- err
				return
			}
			c, err := r.Blame(ctx, "HEAD", "cart/total.go", blameLine)
			if err == nil && c.SHA != f.shas[2] {
				err = fmt.Errorf("blamed %s, want %s", c.SHA, f.shas[2])
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestBranchFiles: only what the branch's own commits changed counts, not
// what the base branch changed after the fork.
// forkedRepo makes a repository whose branch topic changed a.go while
// main, after the fork, changed b.go; topic is checked out. env is added to
// every git command (fixed dates); tag varies the base commit.
func forkedRepo(t *testing.T, env []string, tag int) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("a.go", "package a\n")
	write("b.go", fmt.Sprintf("package a // %d\n", tag))
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "topic")
	write("a.go", "package a\n\nvar X = 1\n")
	git("commit", "-q", "-am", "topic: a")
	git("checkout", "-q", "main")
	write("b.go", "package a\n\nvar Y = 2\n")
	git("commit", "-q", "-am", "main: b")
	git("checkout", "-q", "topic")
	return dir
}

func branchFiles(t *testing.T, dir string) []string {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.BranchFiles(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBranchFiles(t *testing.T) {
	got := branchFiles(t, forkedRepo(t, nil, 0))
	if len(got) != 1 || got[0] != "a.go" {
		t.Errorf("BranchFiles = %v, want [a.go] (b.go changed on main, not on the branch)", got)
	}
}

// TestBranchFilesTiedTimes: commits made in the same second tie in the
// walk's time order, and the order then follows the hashes. Eight
// histories with one fixed date (so their hashes, and the orders they
// give, are the same on every run) must all leave the fork point out.
func TestBranchFilesTiedTimes(t *testing.T) {
	env := []string{"GIT_AUTHOR_DATE=2026-11-20T10:00:00Z", "GIT_COMMITTER_DATE=2026-11-20T10:00:00Z"}
	for v := range 8 {
		if got := branchFiles(t, forkedRepo(t, env, v)); len(got) != 1 || got[0] != "a.go" {
			t.Errorf("history %d: BranchFiles = %v, want [a.go]", v, got)
		}
	}
}
