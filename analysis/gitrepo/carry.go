package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Carry is where a line of a deployed commit stands in the working tree.
type Carry struct {
	Path   string // repo-relative path in the working tree (after renames)
	Line   int    // 1-based; for "deleted" the nearest line, for "missing" 0
	Status string // StatusUnchanged, StatusMoved, StatusDeleted or StatusMissing
	Note   string // human-readable detail: a rename, a deletion
}

// workFile is a file of the working tree as last read, with the stamp that
// tells whether it changed since.
type workFile struct {
	mtime time.Time
	size  int64
	lines []string
}

// driftEntry is a cached line map from a file at a commit to the working
// tree; it is valid while HEAD and the working file's stamp are the same.
type driftEntry struct {
	head    plumbing.Hash
	newPath string
	mtime   time.Time
	size    int64
	drift   *Drift
}

// CarryLine carries 1-based line of path as it was at commit `from` (anything
// Resolve accepts) to the working tree: HEAD plus uncommitted edits, that is
// the file on disk. It follows a rename between from and HEAD when go-git's
// rename detection sees one (a file renamed with few changes). An
// uncommitted rename is not followed: the file is then "missing".
//
// Each call looks at HEAD and the file afresh. To carry many frames, take a
// Snapshot and carry through it: the line map of each (from, path) is
// computed once and reused until HEAD moves or the file's size or mtime
// changes, and a snapshot checks those once rather than per frame.
// gitDiffTreeOptions detects renames as git does by default: a file that
// is at least 50% similar to a deleted one is its rename. go-git's default
// asks 60%, and a file moved to another folder in the commit that also
// added a helper to it (a common refactor) was then a deletion, its
// crashes "missing" at HEAD.
var gitDiffTreeOptions = &object.DiffTreeOptions{DetectRenames: true, RenameScore: 50}

func (r *Repo) CarryLine(ctx context.Context, from, path string, line int) (Carry, error) {
	s, err := r.Snapshot(ctx)
	if err != nil {
		return Carry{}, err
	}
	return s.CarryLine(ctx, from, path, line)
}

// Snapshot is the working tree as of one moment: HEAD is read once and each
// file's stamp (size, mtime) is checked the first time the snapshot needs it.
// Carries through one snapshot are consistent with each other, as the
// diagnostics of one poll should be. A Snapshot is cheap; take a new one per
// batch of work. It is safe for concurrent use.
type Snapshot struct {
	r    *Repo
	head plumbing.Hash
	mu   sync.Mutex
	stat map[string]fileStat // by repo-relative path
}

type fileStat struct {
	mtime time.Time
	size  int64
	err   error
}

// Snapshot pins HEAD and starts a fresh view of the working tree.
func (r *Repo) Snapshot(ctx context.Context) (*Snapshot, error) {
	head, err := r.headHash(ctx)
	if err != nil {
		return nil, err
	}
	return &Snapshot{r: r, head: head, stat: make(map[string]fileStat)}, nil
}

// Head returns the full sha of HEAD when the snapshot was taken.
func (s *Snapshot) Head() string { return s.head.String() }

// statOnce stats a working-tree file the first time the snapshot asks.
func (s *Snapshot) statOnce(rel string) fileStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stat[rel]; ok {
		return st
	}
	var st fileStat
	fi, err := os.Stat(filepath.Join(s.r.root, filepath.FromSlash(rel)))
	if err != nil {
		st.err = err
	} else {
		st.mtime, st.size = fi.ModTime(), fi.Size()
	}
	s.stat[rel] = st
	return st
}

// CarryLine is Repo.CarryLine against this snapshot.
func (s *Snapshot) CarryLine(ctx context.Context, from, path string, line int) (Carry, error) {
	r := s.r
	rel, err := r.relPath(path)
	if err != nil {
		return Carry{}, err
	}
	fromH, err := r.resolve(ctx, from)
	if err != nil {
		return Carry{}, err
	}
	d, newPath, note, err := s.drift(ctx, fromH, rel)
	if err != nil {
		return Carry{}, fmt.Errorf("carry %s:%d from %s: %w", rel, line, short(fromH), err)
	}
	if d == nil {
		return Carry{Path: rel, Status: StatusMissing, Note: note}, nil
	}
	if line < 1 || line > len(d.old) {
		return Carry{}, fmt.Errorf("carry %s:%d from %s: the file has %d lines there", rel, line, short(fromH), len(d.old))
	}
	n, status := d.Carry(line)
	c := Carry{Path: newPath, Line: n, Status: status, Note: note}
	if status == StatusDeleted {
		c.Note = joinNote(note, fmt.Sprintf("line %d of %s at %s no longer exists; line %d is the nearest", line, rel, short(fromH), n))
	}
	return c, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// drift returns the line map of rel from commit fromH to the working tree,
// the file's path there and a note on its rename. d is nil when the file is
// gone (note says why).
func (s *Snapshot) drift(ctx context.Context, fromH plumbing.Hash, rel string) (d *Drift, newPath, note string, err error) {
	r := s.r
	key := fileKey{fromH, rel}
	r.mu.Lock()
	e := r.drifts[key]
	r.mu.Unlock()
	if e != nil && e.head == s.head {
		st := s.statOnce(e.newPath)
		if st.err == nil && st.mtime.Equal(e.mtime) && st.size == e.size {
			return e.drift, e.newPath, renameNote(rel, e.newPath), nil
		}
	}
	old, err := r.fileLines(ctx, fromH, rel)
	if err != nil {
		return nil, "", "", err
	}
	newPath, err = r.pathAtHead(ctx, fromH, s.head, rel)
	if err != nil {
		return nil, "", "", err
	}
	if newPath == "" {
		return nil, "", fmt.Sprintf("%s was deleted between %s and HEAD", rel, short(fromH)), nil
	}
	wf, err := s.workLines(newPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Sprintf("%s is deleted in the working tree", newPath), nil
	}
	if err != nil {
		return nil, "", "", err
	}
	d = NewDrift(old, wf.lines)
	r.mu.Lock()
	r.drifts[key] = &driftEntry{head: s.head, newPath: newPath, mtime: wf.mtime, size: wf.size, drift: d}
	r.mu.Unlock()
	return d, newPath, renameNote(rel, newPath), nil
}

func renameNote(oldPath, newPath string) string {
	if oldPath == newPath {
		return ""
	}
	return fmt.Sprintf("renamed from %s", oldPath)
}

// workLines reads a file of the working tree, reusing the last read while
// its size and mtime are unchanged.
func (s *Snapshot) workLines(rel string) (workFile, error) {
	r := s.r
	st := s.statOnce(rel)
	if st.err != nil {
		return workFile{}, st.err
	}
	r.mu.Lock()
	wf, ok := r.work[rel]
	r.mu.Unlock()
	if ok && wf.mtime.Equal(st.mtime) && wf.size == st.size {
		return wf, nil
	}
	b, err := os.ReadFile(filepath.Join(r.root, filepath.FromSlash(rel)))
	if err != nil {
		return workFile{}, fmt.Errorf("read %s: %w", rel, err)
	}
	// Stamp with what the snapshot saw: if the file changed between the stat
	// and the read, the next snapshot's stat differs and reads it again.
	wf = workFile{mtime: st.mtime, size: st.size, lines: splitLines(b)}
	r.mu.Lock()
	r.work[rel] = wf
	r.mu.Unlock()
	return wf, nil
}

// pathAtHead returns where rel of commit fromH lives at HEAD: the same path
// when HEAD has it, the rename target when go-git detects a rename, or ""
// when the file is gone.
func (r *Repo) pathAtHead(ctx context.Context, fromH, head plumbing.Hash, rel string) (string, error) {
	var exists bool
	err := r.withGit(ctx, func() error {
		t, err := r.treeOf(head)
		if err != nil {
			return err
		}
		_, err = t.FindEntry(rel)
		exists = err == nil
		return nil
	})
	if err != nil || exists {
		return rel, err
	}
	renames, err := r.renamesBetween(ctx, fromH, head)
	if err != nil {
		return "", err
	}
	if p := renames[rel]; p != "" {
		return p, nil
	}
	// A file renamed and then much edited is no rename to a diff of the two
	// end points; follow it commit by commit instead.
	return r.followRenames(ctx, fromH, head, rel)
}

// maxRenameWalk bounds the commits followRenames visits.
const maxRenameWalk = 500

// followRenames follows rel from fromH to head one commit at a time, along
// the shortest chain of parents from head back to fromH (first parents
// first): a deploy built from a hotfix or release branch that was merged
// back is reached through the merge's second parent. It returns "" when
// fromH is not an ancestor of head within the bound, or the file was
// deleted on the way.
func (r *Repo) followRenames(ctx context.Context, fromH, head plumbing.Hash, rel string) (string, error) {
	next := map[plumbing.Hash]plumbing.Hash{head: {}} // commit -> its child on the way to head
	queue := []plumbing.Hash{head}
	if head == fromH {
		return "", nil
	}
	found := false
	for len(queue) > 0 && !found {
		if len(next) > maxRenameWalk {
			return "", nil
		}
		c := queue[0]
		queue = queue[1:]
		var parents []plumbing.Hash
		err := r.withGit(ctx, func() error {
			co, err := r.commitObject(c)
			if err != nil {
				return err
			}
			parents = co.ParentHashes
			return nil
		})
		if err != nil {
			return "", err
		}
		for _, p := range parents {
			if _, seen := next[p]; seen {
				continue
			}
			next[p] = c
			if p == fromH {
				found = true
				break
			}
			queue = append(queue, p)
		}
	}
	if !found {
		return "", nil
	}
	var chain []plumbing.Hash // oldest first: fromH's child, ..., head
	for c := next[fromH]; ; c = next[c] {
		chain = append(chain, c)
		if c == head {
			break
		}
	}
	cur, prev := rel, fromH
	for _, c := range chain {
		ren, err := r.renamesBetween(ctx, prev, c)
		if err != nil {
			return "", err
		}
		if p := ren[cur]; p != "" {
			cur = p
		}
		prev = c
	}
	if cur == rel {
		return "", nil
	}
	return cur, nil
}

// renamesBetween maps old to new paths for the renames go-git detects between
// two commits' trees, cached per pair.
func (r *Repo) renamesBetween(ctx context.Context, a, b plumbing.Hash) (map[string]string, error) {
	key := [2]plumbing.Hash{a, b}
	r.mu.Lock()
	m, ok := r.renames[key]
	r.mu.Unlock()
	if ok {
		return m, nil
	}
	m = make(map[string]string)
	err := r.withGit(ctx, func() error {
		ta, err := r.treeOf(a)
		if err != nil {
			return err
		}
		tb, err := r.treeOf(b)
		if err != nil {
			return err
		}
		changes, err := object.DiffTreeWithOptions(ctx, ta, tb, gitDiffTreeOptions)
		if err != nil {
			return fmt.Errorf("detect renames %s..%s: %w", short(a), short(b), err)
		}
		for _, ch := range changes {
			if ch.From.Name != "" && ch.To.Name != "" && ch.From.Name != ch.To.Name {
				m[ch.From.Name] = ch.To.Name
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.renames[key] = m
	r.mu.Unlock()
	return m, nil
}
