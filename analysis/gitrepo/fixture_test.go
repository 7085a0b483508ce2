package gitrepo

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/tools/txtar"
)

// fixture is a repository built from a testdata history archive.
type fixture struct {
	dir  string
	repo *git.Repository
	shas []string // shas[n] is commit n (1-based); shas[0] is empty
}

// commitFiles is one commit of an archive: its message, tags and tree.
type commitFiles struct {
	author, email, msg string
	tags               []string
	files              map[string]string
}

// buildFixture turns testdata/<name> into a git repository in a temp dir,
// committing each snapshot with go-git at a fixed, increasing time so that
// shas are reproducible.
func buildFixture(t testing.TB, name string) *fixture {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	commits := parseCommits(t, ar)
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, repo: repo, shas: []string{""}}
	prev := map[string]string{}
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, c := range commits {
		when := base.Add(time.Duration(i) * time.Hour)
		h := f.commit(t, prev, c, when)
		f.shas = append(f.shas, h.String())
		prev = c.files
	}
	return f
}

func parseCommits(t testing.TB, ar *txtar.Archive) []commitFiles {
	t.Helper()
	byNum := map[int]*commitFiles{}
	for _, file := range ar.Files {
		num, rest, ok := strings.Cut(file.Name, "/")
		n, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("archive entry %q: want N/PATH", file.Name)
		}
		c := byNum[n]
		if c == nil {
			c = &commitFiles{files: map[string]string{}}
			byNum[n] = c
		}
		switch rest {
		case "msg":
			head, msg, _ := strings.Cut(string(file.Data), "\n\n")
			name, email, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(head), ">"), " <")
			c.author, c.email, c.msg = name, email, msg
		case "tags":
			c.tags = strings.Split(strings.TrimSpace(string(file.Data)), "\n")
		default:
			c.files[rest] = string(file.Data)
		}
	}
	out := make([]commitFiles, len(byNum))
	for n, c := range byNum {
		if n < 1 || n > len(byNum) {
			t.Fatalf("commits must be numbered 1..%d, got %d", len(byNum), n)
		}
		out[n-1] = *c
	}
	return out
}

// commit makes the working tree exactly c's files and commits it.
func (f *fixture) commit(t testing.TB, prev map[string]string, c commitFiles, when time.Time) plumbing.Hash {
	t.Helper()
	wt, err := f.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for p := range prev {
		if _, keep := c.files[p]; !keep {
			if _, err := wt.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	paths := make([]string, 0, len(c.files))
	for p := range c.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f.write(t, p, c.files[p])
		if _, err := wt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: c.author, Email: c.email, When: when}
	h, err := wt.Commit(c.msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range c.tags {
		name, msg, annotated := strings.Cut(tag, " annotated ")
		var opts *git.CreateTagOptions
		if annotated {
			opts = &git.CreateTagOptions{Tagger: sig, Message: msg}
		}
		if _, err := f.repo.CreateTag(name, h, opts); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// write puts content at a repo-relative path on disk.
func (f *fixture) write(t testing.TB, rel, content string) {
	t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// read returns a file of the working tree.
func (f *fixture) read(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// show returns a file at fixture commit n, straight from go-git.
func (f *fixture) show(t testing.TB, n int, rel string) string {
	t.Helper()
	c, err := f.repo.CommitObject(plumbing.NewHash(f.shas[n]))
	if err != nil {
		t.Fatal(err)
	}
	file, err := c.File(rel)
	if err != nil {
		t.Fatal(err)
	}
	s, err := file.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lineOf returns the 1-based line of content whose text (trimmed) is want;
// the fixture must hold it exactly once, so that expectations are found by
// text rather than hard-coded numbers.
func lineOf(t testing.TB, content, want string) int {
	t.Helper()
	found := 0
	for i, l := range strings.Split(content, "\n") {
		if strings.TrimSpace(l) == want {
			if found != 0 {
				t.Fatalf("%q occurs more than once", want)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("%q not found in:\n%s", want, content)
	}
	return found
}

func gitPlainInit(dir string) (*git.Repository, error) { return git.PlainInit(dir, false) }
