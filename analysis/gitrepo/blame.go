package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/faultline-dev/faultline/incident"
)

// IgnoreRevsFile is the file at the repository root listing commits blame
// skips (reformatting, mass renames), one sha per line, '#' comments: the
// name GitHub and `git config blame.ignoreRevsFile` conventionally use.
const IgnoreRevsFile = ".git-blame-ignore-revs"

// maxBlameHops bounds how many ignored commits one line is followed through.
const maxBlameHops = 64

// ignoreState caches the parsed ignore-revs file by its stamp.
type ignoreState struct {
	stamp string
	revs  map[plumbing.Hash]bool
}

// Blame returns the commit that last changed 1-based line of path at commit
// `at`. Commits listed in .git-blame-ignore-revs are skipped: the line is
// followed into the ignored commit's parent (by text, white space ignored,
// or similarity) and blamed there; a line the ignored commit added stays
// blamed on it. A file renamed with few changes is followed to its old name
// (see blamewalk.go).
func (r *Repo) Blame(ctx context.Context, at, path string, line int) (incident.Commit, error) {
	cs, err := r.BlameRange(ctx, at, path, line, line)
	if err != nil {
		return incident.Commit{}, err
	}
	return cs[0], nil
}

// BlameText is Blame that also looks through commits that changed only the
// line's white space (a re-indentation, a block opened or closed around
// it): the commit that last changed its text. Whether such a commit is
// innocent is not for blame to say (a guard removed around a line re-indents
// it, and in Python indentation is meaning): callers weigh both.
func (r *Repo) BlameText(ctx context.Context, at, path string, line int) (incident.Commit, error) {
	return r.blameOne(ctx, at, path, line, true)
}

func (r *Repo) blameOne(ctx context.Context, at, path string, line int, text bool) (incident.Commit, error) {
	rel, err := r.relPath(path)
	if err != nil {
		return incident.Commit{}, err
	}
	h, err := r.resolve(ctx, at)
	if err != nil {
		return incident.Commit{}, err
	}
	c, err := r.blameLine(ctx, h, rel, line, r.ignoredRevs(ctx), text)
	if err != nil {
		return incident.Commit{}, fmt.Errorf("blame %s:%d at %s: %w", rel, line, short(h), err)
	}
	return r.commitInfo(ctx, c)
}

// BlameRange returns, for each line of [from, to] (1-based, inclusive) of
// path at `at`, the commit that last changed it, as Blame does.
func (r *Repo) BlameRange(ctx context.Context, at, path string, from, to int) ([]incident.Commit, error) {
	rel, err := r.relPath(path)
	if err != nil {
		return nil, err
	}
	h, err := r.resolve(ctx, at)
	if err != nil {
		return nil, err
	}
	if from < 1 || to < from {
		return nil, fmt.Errorf("blame %s lines %d-%d: invalid range", rel, from, to)
	}
	ignored := r.ignoredRevs(ctx)
	out := make([]incident.Commit, 0, to-from+1)
	for line := from; line <= to; line++ {
		c, err := r.blameLine(ctx, h, rel, line, ignored, false)
		if err != nil {
			return nil, fmt.Errorf("blame %s:%d at %s: %w", rel, line, short(h), err)
		}
		info, err := r.commitInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// blameLine finds the commit behind one line, hopping over ignored commits
// and, when text is set, over commits that changed only its white space.
func (r *Repo) blameLine(ctx context.Context, at plumbing.Hash, rel string, line int, ignored map[plumbing.Hash]bool, text bool) (plumbing.Hash, error) {
	for range maxBlameHops {
		c, err := r.walkBlame(ctx, at, rel, line)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		next, err := r.blameHop(ctx, at, c, rel, line, ignored[c], text)
		if err != nil || next.commit.IsZero() {
			return c, err
		}
		at, rel, line = next.commit, next.path, next.line
	}
	return plumbing.ZeroHash, errors.New("too many ignored commits in a row")
}

// hop is where blame continues: line of path at commit.
type hop struct {
	commit plumbing.Hash
	path   string
	line   int
}

// blameHop decides whether blame for line (of rel at `at`, last changed by
// c) continues in c's first parent: when c is ignored and the line survives
// there (by text, or fuzzily), or, with wsOnly, when c changed nothing of
// the line but white space. It returns a zero hop when c is the answer.
// The blame walk follows renames itself, so the file may have another name
// at c.
func (r *Repo) blameHop(ctx context.Context, at, c plumbing.Hash, rel string, line int, ignore, wsOnly bool) (hop, error) {
	if !ignore && !wsOnly {
		return hop{}, nil
	}
	h, err := r.hopToParent(ctx, at, c, rel, line, !ignore)
	if !ignore {
		return h, nil // looking for white space only: any doubt leaves c blamed
	}
	return h, err
}

// hopToParent carries line of rel at `at`, last changed by c, into c's
// first parent; a zero hop when c added the line (or, with sameText, when
// c changed more than its white space).
func (r *Repo) hopToParent(ctx context.Context, at, c plumbing.Hash, rel string, line int, sameText bool) (hop, error) {
	parent, ok, err := r.firstParent(ctx, c)
	if err != nil || !ok {
		return hop{}, err
	}
	pathAtC, err := r.pathIn(ctx, c, at, rel)
	if err != nil || pathAtC == "" {
		return hop{}, err
	}
	// The line is unchanged from c to at, so the diff keeps it.
	lineAtC, err := r.mapExact(ctx, at, c, rel, pathAtC, line)
	if err != nil || lineAtC == 0 {
		return hop{}, err
	}
	parentPath, err := r.pathIn(ctx, parent, c, pathAtC)
	if err != nil || parentPath == "" {
		return hop{}, err
	}
	cur, err := r.fileLines(ctx, c, pathAtC)
	if err != nil {
		return hop{}, err
	}
	prev, err := r.fileLines(ctx, parent, parentPath)
	if err != nil {
		return hop{}, err
	}
	n, status := NewDrift(cur, prev).Carry(lineAtC)
	if status == StatusDeleted || status == StatusMissing {
		return hop{}, nil // the ignored commit added the line: it stays blamed
	}
	if sameText && lineKey(cur[lineAtC-1]) != lineKey(prev[n-1]) {
		return hop{}, nil
	}
	return hop{parent, parentPath, n}, nil
}

// mapExact maps a line of (a, pathA) to (b, pathB) through the diff, 0 when
// the diff does not keep it.
func (r *Repo) mapExact(ctx context.Context, a, b plumbing.Hash, pathA, pathB string, line int) (int, error) {
	la, err := r.fileLines(ctx, a, pathA)
	if err != nil {
		return 0, err
	}
	lb, err := r.fileLines(ctx, b, pathB)
	if err != nil {
		return 0, err
	}
	m := LineMap(la, lb)
	if line < 1 || line >= len(m) {
		return 0, nil
	}
	return m[line], nil
}

// pathIn returns the name that rel of commit newer had at commit older: the
// same when older has it, else the rename source go-git detects between the
// two trees, else "".
func (r *Repo) pathIn(ctx context.Context, older, newer plumbing.Hash, rel string) (string, error) {
	if older == newer {
		return rel, nil
	}
	path, blob, err := r.parentFile(ctx, older, newer, rel)
	if err != nil || blob.IsZero() {
		return "", err
	}
	return path, nil
}

func (r *Repo) firstParent(ctx context.Context, c plumbing.Hash) (plumbing.Hash, bool, error) {
	var p plumbing.Hash
	var ok bool
	err := r.withGit(ctx, func() error {
		co, err := r.commitObject(c)
		if err != nil {
			return err
		}
		if len(co.ParentHashes) > 0 {
			p, ok = co.ParentHashes[0], true
		}
		return nil
	})
	return p, ok, err
}

// ignoredRevs reads .git-blame-ignore-revs from the working tree (as git
// does), resolving each entry; entries that do not resolve are skipped. The
// parse is cached until the file's size or mtime changes.
func (r *Repo) ignoredRevs(ctx context.Context) map[plumbing.Hash]bool {
	p := filepath.Join(r.root, IgnoreRevsFile)
	stamp := statStamp(p)
	r.mu.Lock()
	st := r.ignore
	r.mu.Unlock()
	if st.revs != nil && st.stamp == stamp {
		return st.revs
	}
	revs := make(map[plumbing.Hash]bool)
	b, err := os.ReadFile(p)
	if err != nil {
		return revs
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if h, err := r.resolve(ctx, line); err == nil {
			revs[h] = true
		}
	}
	if ctx.Err() != nil {
		return revs // entries may have failed to resolve: do not cache
	}
	r.mu.Lock()
	r.ignore = ignoreState{stamp: stamp, revs: revs}
	r.mu.Unlock()
	return revs
}
