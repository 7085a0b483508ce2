package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestBlameWalk blames every line of every file at many commits of random
// histories (branches merged both ways, files renamed with small edits)
// with the single-line walk, and compares with `git blame`: every line
// whose text is unique in its file must be blamed on the same commit. A
// line repeated in the file ("}", a blank line) may be matched to another
// of its copies by a different but equally minimal diff, as git's own diff
// algorithms differ among themselves; those are counted, not required.
// go-git's whole-file Blame, which the walk replaced, is counted too: it
// gives up merges' second parents in some histories (a line written on a
// branch blamed on the root commit).
func TestBlameWalk(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		seeds = seeds[:3]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			gitCLI(t, dir, "init", "-q", "-b", "main")
			stream, branches := randomHistory(seed, 90)
			cmd := exec.Command("git", "fast-import", "--quiet")
			cmd.Dir = dir
			cmd.Stdin = bytes.NewReader(stream)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("fast-import: %v\n%s", err, out)
			}
			r, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var commits []plumbing.Hash
			for _, b := range branches {
				for _, c := range strings.Fields(gitCLI(t, dir, "rev-list", "--max-count=4", b)) {
					commits = append(commits, plumbing.NewHash(c))
				}
			}
			slices.SortFunc(commits, func(a, b plumbing.Hash) int { return strings.Compare(a.String(), b.String()) })
			commits = slices.Compact(commits)
			var unique, repeated, repeatedAlike, goGitAlike int
			for _, h := range commits {
				c, err := r.repo.CommitObject(h)
				if err != nil {
					t.Fatal(err)
				}
				for _, path := range strings.Fields(gitCLI(t, dir, "ls-tree", "-r", "--name-only", h.String())) {
					want := strings.Split(gitCLI(t, dir, "blame", "-s", "-l", h.String(), "--", path), "\n")
					show := exec.Command("git", "show", h.String()+":"+path)
					show.Dir = dir
					raw, err := show.Output()
					if err != nil {
						t.Fatalf("git show %s:%s: %v", short(h), path, err)
					}
					text := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
					gg, err := git.Blame(c, path)
					if err != nil {
						t.Fatalf("go-git blame %s at %s: %v", path, short(h), err)
					}
					if len(want) != len(text) || len(gg.Lines) != len(text) {
						t.Fatalf("%s at %s: %d lines, git blame gave %d, go-git %d", path, short(h), len(text), len(want), len(gg.Lines))
					}
					count := map[string]int{}
					for _, line := range text {
						count[line]++
					}
					for i, line := range text {
						got, err := r.walkBlame(ctx, h, path, i+1)
						if err != nil {
							t.Fatalf("walk %s:%d at %s: %v", path, i+1, short(h), err)
						}
						// git marks a root commit "^" and gives 39 digits.
						cli := strings.TrimPrefix(strings.Fields(want[i])[0], "^")
						alike := strings.HasPrefix(got.String(), cli)
						if strings.HasPrefix(gg.Lines[i].Hash.String(), cli) {
							goGitAlike++
						}
						if count[line] > 1 {
							repeated++
							if alike {
								repeatedAlike++
							}
							continue
						}
						unique++
						if !alike {
							t.Errorf("%s:%d at %s (%q): walk blames %s, git blame %s", path, i+1, short(h), line, short(got), cli[:8])
						}
					}
				}
			}
			if unique < 200 {
				t.Fatalf("only %d unique lines checked: the history generator is broken", unique)
			}
			t.Logf("%d commits: %d unique lines blamed as git does; repeated lines %d/%d; go-git's Blame as git does for %d/%d",
				len(commits), unique, repeatedAlike, repeated, goGitAlike, unique+repeated)
		})
	}
}

// randomHistory writes a git fast-import stream of n commits over three
// branches and returns it with the branch names. Commits insert,
// delete and change lines, merge one branch into another (the merge keeps
// the first parent's files, takes one file from the second parent, and
// sometimes edits a line), and rename a file with a small edit.
func randomHistory(seed uint64, n int) ([]byte, []string) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	branches := []string{"refs/heads/main", "refs/heads/feat", "refs/heads/fix"}
	type state struct {
		files map[string][]string
		mark  int
	}
	heads := map[string]*state{}
	var buf bytes.Buffer
	mark := 0
	// Mostly lines written once, as code is; some as common as "}".
	written := 0
	word := func() string {
		if rng.IntN(6) == 0 {
			return []string{"}", "", "return nil"}[rng.IntN(3)]
		}
		written++
		return fmt.Sprintf("stmt %d", written)
	}
	newFile := func() []string {
		l := make([]string, 8+rng.IntN(12))
		for i := range l {
			l[i] = word()
		}
		return l
	}
	edit := func(lines []string) []string {
		out := slices.Clone(lines)
		for range 1 + rng.IntN(3) {
			switch k := rng.IntN(3); {
			case k == 0 || len(out) < 3:
				i := rng.IntN(len(out) + 1)
				out = slices.Insert(out, i, word())
			case k == 1:
				i := rng.IntN(len(out))
				out = slices.Delete(out, i, min(len(out), i+1+rng.IntN(2)))
				if len(out) == 0 {
					out = []string{word()}
				}
			default:
				out[rng.IntN(len(out))] = word()
			}
		}
		return out
	}
	clone := func(m map[string][]string) map[string][]string {
		c := make(map[string][]string, len(m))
		for k, v := range m {
			c[k] = slices.Clone(v)
		}
		return c
	}
	renames := 0
	for i := range n {
		b := branches[rng.IntN(len(branches))]
		st := heads[b]
		var files map[string][]string
		var from []int
		switch {
		case st == nil && b != branches[0] && heads[branches[0]] != nil:
			base := heads[branches[0]]
			files, from = clone(base.files), []int{base.mark}
		case st == nil:
			files = map[string][]string{"a.txt": newFile(), "src/b.txt": newFile()}
		default:
			files, from = clone(st.files), []int{st.mark}
		}
		other := branches[rng.IntN(len(branches))]
		if o := heads[other]; st != nil && other != b && o != nil && rng.IntN(5) == 0 {
			// A merge: every file as the first parent has it, one taken
			// from the second parent.
			from = append(from, o.mark)
			names := make([]string, 0, len(o.files))
			for k := range o.files {
				names = append(names, k)
			}
			sort.Strings(names)
			k := names[rng.IntN(len(names))]
			files[k] = slices.Clone(o.files[k])
			if rng.IntN(2) == 0 {
				files[k] = edit(files[k])
			}
		} else {
			names := make([]string, 0, len(files))
			for k := range files {
				names = append(names, k)
			}
			sort.Strings(names)
			k := names[rng.IntN(len(names))]
			if rng.IntN(12) == 0 && len(files[k]) >= 8 {
				// A rename with one line changed.
				renames++
				nk := fmt.Sprintf("moved%d/%s", renames, k[strings.LastIndexByte(k, '/')+1:])
				l := files[k]
				l[rng.IntN(len(l))] = word()
				delete(files, k)
				files[nk] = l
			} else {
				files[k] = edit(files[k])
			}
		}
		mark++
		fmt.Fprintf(&buf, "commit %s\nmark :%d\n", b, mark)
		fmt.Fprintf(&buf, "committer T <t@example.com> %d +0000\n", 1700000000+i*60)
		msg := fmt.Sprintf("commit %d on %s", i, b)
		fmt.Fprintf(&buf, "data %d\n%s\n", len(msg), msg)
		for j, f := range from {
			if j == 0 {
				fmt.Fprintf(&buf, "from :%d\n", f)
			} else {
				fmt.Fprintf(&buf, "merge :%d\n", f)
			}
		}
		buf.WriteString("deleteall\n")
		names := make([]string, 0, len(files))
		for k := range files {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			data := strings.Join(files[k], "\n") + "\n"
			fmt.Fprintf(&buf, "M 100644 inline %s\ndata %d\n%s\n", k, len(data), data)
		}
		buf.WriteString("\n")
		heads[b] = &state{files: files, mark: mark}
	}
	var out []string
	for _, b := range branches {
		if heads[b] != nil {
			out = append(out, b)
		}
	}
	return buf.Bytes(), out
}

// TestStoreSized: a cache bounded by bytes starts over rather than pass its
// bound, and counts what it holds after.
func TestStoreSized(t *testing.T) {
	var mu sync.Mutex
	m, total := map[int]string{}, 0
	for i, s := range []string{"aaaa", "bbbb", "cc"} {
		storeSized(&mu, m, i, s, len(s), &total, 8)
	}
	if len(m) != 1 || m[2] != "cc" || total != 2 {
		t.Errorf("after 4+4+2 bytes in a cache of 8: %v, %d bytes counted; want only the last, 2", m, total)
	}
	storeSized(&mu, m, 3, "dddddd", 6, &total, 8)
	if len(m) != 2 || total != 8 {
		t.Errorf("filling it exactly: %v, %d bytes; want both, 8", m, total)
	}
}
