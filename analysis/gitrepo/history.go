package gitrepo

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/faultline-dev/faultline/incident"
)

// FileAt returns the content of path at commit (anything Resolve accepts).
// Errors wrap ErrFileNotFound when the commit has no such file.
func (r *Repo) FileAt(ctx context.Context, commit, path string) ([]byte, error) {
	rel, err := r.relPath(path)
	if err != nil {
		return nil, err
	}
	h, err := r.resolve(ctx, commit)
	if err != nil {
		return nil, err
	}
	var b []byte
	err = r.withGit(ctx, func() error {
		b, err = r.readBlob(h, rel)
		return err
	})
	return b, err
}

// readBlob reads path at commit h; the caller holds the go-git lock.
func (r *Repo) readBlob(h plumbing.Hash, rel string) ([]byte, error) {
	c, err := r.commitObject(h)
	if err != nil {
		return nil, err
	}
	f, err := c.File(rel)
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, fmt.Errorf("%s at %s: %w", rel, short(h), ErrFileNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", rel, short(h), err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", rel, short(h), err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", rel, short(h), err)
	}
	return b, nil
}

// fileLines returns the lines of rel at commit h (see linesAt).
func (r *Repo) fileLines(ctx context.Context, h plumbing.Hash, rel string) ([]string, error) {
	lines, _, err := r.linesAt(ctx, h, rel)
	return lines, err
}

// ChangedFiles lists the paths changed between two commits, from exclusive
// and to inclusive, sorted. A rename lists both names. from == "" means the
// empty tree before the root commit: every file of `to` is listed.
func (r *Repo) ChangedFiles(ctx context.Context, from, to string) ([]string, error) {
	toH, err := r.resolve(ctx, to)
	if err != nil {
		return nil, err
	}
	fromH := plumbing.ZeroHash
	if from != "" {
		if fromH, err = r.resolve(ctx, from); err != nil {
			return nil, err
		}
	}
	var changes object.Changes
	err = r.withGit(ctx, func() error {
		a, b := &object.Tree{}, (*object.Tree)(nil)
		if !fromH.IsZero() {
			if a, err = r.treeOf(fromH); err != nil {
				return err
			}
		}
		if b, err = r.treeOf(toH); err != nil {
			return err
		}
		changes, err = object.DiffTreeWithOptions(ctx, a, b, gitDiffTreeOptions)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list files changed %s..%s: %w", from, to, err)
	}
	seen := make(map[string]bool)
	var paths []string
	for _, ch := range changes {
		for _, p := range []string{ch.From.Name, ch.To.Name} {
			if p != "" && !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	return paths, nil
}

func (r *Repo) treeOf(h plumbing.Hash) (*object.Tree, error) {
	c, err := r.commitObject(h)
	if err != nil {
		return nil, err
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("load tree of %s: %w", short(h), err)
	}
	return t, nil
}

// Commits lists the commits reachable from `to` and not from `from` (git log
// from..to), newest first by committer time. from == "" lists all of to's
// history.
func (r *Repo) Commits(ctx context.Context, from, to string) ([]incident.Commit, error) {
	cs, err := r.walkRange(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]incident.Commit, len(cs))
	for i, c := range cs {
		out[i] = toCommit(c)
	}
	return out, nil
}

// IsAncestor reports whether a is an ancestor of b (a commit is its own
// ancestor, as with `git merge-base --is-ancestor`).
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	ah, err := r.resolve(ctx, a)
	if err != nil {
		return false, err
	}
	bh, err := r.resolve(ctx, b)
	if err != nil {
		return false, err
	}
	if ah == bh {
		return true, nil
	}
	cs, err := r.walkRange(ctx, bh.String(), ah.String())
	if err != nil {
		return false, err
	}
	return len(cs) == 0, nil
}

// walkRange walks from..to the way git's revision walk does: commits popped
// newest first; those reachable from `from` are marked uninteresting and pass
// the mark on to their parents; the walk ends when only uninteresting
// commits are left to visit. Its cost is the size of the range plus the
// frontier, not the whole history.
func (r *Repo) walkRange(ctx context.Context, from, to string) ([]*object.Commit, error) {
	toH, err := r.resolve(ctx, to)
	if err != nil {
		return nil, err
	}
	fromH := plumbing.ZeroHash
	if from != "" {
		if fromH, err = r.resolve(ctx, from); err != nil {
			return nil, err
		}
	}
	var out []*object.Commit
	err = r.withGit(ctx, func() error {
		w := &walker{r: r, ctx: ctx, flags: make(map[plumbing.Hash]*walkFlag), shallow: make(map[plumbing.Hash]bool)}
		// Like git, treat a shallow clone's boundary commits as parentless:
		// list the history that is there rather than fail on what is not.
		boundary, _ := r.repo.Storer.Shallow()
		for _, h := range boundary {
			w.shallow[h] = true
		}
		if err := w.push(toH, false); err != nil {
			return err
		}
		if !fromH.IsZero() {
			if err := w.push(fromH, true); err != nil {
				return err
			}
		}
		out, err = w.run()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("walk history %s..%s: %w", from, to, err)
	}
	return out, nil
}

type walkFlag struct {
	uninteresting, queued, emitted bool
}

type walker struct {
	r       *Repo
	ctx     context.Context
	flags   map[plumbing.Hash]*walkFlag
	shallow map[plumbing.Hash]bool
	q       commitQueue
}

// push queues h (again, when it newly became uninteresting, so that the mark
// reaches its parents).
func (w *walker) push(h plumbing.Hash, uninteresting bool) error {
	f := w.flags[h]
	if f == nil {
		f = &walkFlag{}
		w.flags[h] = f
	}
	if f.queued && (f.uninteresting || !uninteresting) {
		return nil
	}
	f.uninteresting = f.uninteresting || uninteresting
	c, err := w.r.commitObject(h)
	if err != nil {
		return err
	}
	f.queued = true
	heap.Push(&w.q, c)
	return nil
}

// walkSlop is how many commits older than every emitted one the walk still
// visits once only uninteresting commits are queued, as git's SLOP does:
// commit times tie (commits made in the same second) and skew, so an
// uninteresting commit popped late may still reach an emitted one.
const walkSlop = 5

func (w *walker) run() ([]*object.Commit, error) {
	var out []*object.Commit
	var oldest time.Time // committer time of the oldest emitted commit
	slop := walkSlop
	for w.q.Len() > 0 {
		if !w.anyInteresting() {
			if len(out) == 0 {
				break
			}
			if w.q[0].Committer.When.Before(oldest) {
				if slop == 0 {
					break
				}
				slop--
			}
		}
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		c := heap.Pop(&w.q).(*object.Commit)
		f := w.flags[c.Hash]
		if !f.uninteresting && !f.emitted {
			f.emitted = true
			out = append(out, c)
			if oldest.IsZero() || c.Committer.When.Before(oldest) {
				oldest = c.Committer.When
			}
		}
		if w.shallow[c.Hash] {
			continue
		}
		for _, p := range c.ParentHashes {
			if err := w.push(p, f.uninteresting); err != nil {
				return nil, err
			}
		}
	}
	// A commit emitted before an older path proved it uninteresting (clock
	// skew) is dropped here.
	kept := out[:0]
	for _, c := range out {
		if !w.flags[c.Hash].uninteresting {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

func (w *walker) anyInteresting() bool {
	for _, c := range w.q {
		if !w.flags[c.Hash].uninteresting {
			return true
		}
	}
	return false
}

// commitQueue is a max-heap of commits by committer time (then hash, so that
// the order is deterministic).
type commitQueue []*object.Commit

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	ti, tj := q[i].Committer.When, q[j].Committer.When
	if !ti.Equal(tj) {
		return ti.After(tj)
	}
	return q[i].Hash.String() < q[j].Hash.String()
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

func short(h plumbing.Hash) string { return h.String()[:8] }

// BranchFiles lists the files changed by the commits of HEAD's branch that
// base does not have (git log base..HEAD), each against its own first
// parent, so that changes made on base since the branch forked do not
// count. It answers "which files does my branch touch".
func (r *Repo) BranchFiles(ctx context.Context, base string) ([]string, error) {
	commits, err := r.Commits(ctx, base, "HEAD")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range commits {
		h, err := r.resolve(ctx, c.SHA)
		if err != nil {
			return nil, err
		}
		parent, ok, err := r.firstParent(ctx, h)
		if err != nil {
			return nil, err
		}
		from := ""
		if ok {
			from = parent.String()
		}
		files, err := r.ChangedFiles(ctx, from, c.SHA)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
