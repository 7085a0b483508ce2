package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// Blame of one line walks the history back from the commit asked about,
// as `git blame -L n,n` does, and stops at the commit that wrote the line.
// go-git's Blame blames a whole file and always walks the file's whole
// history, holding every revision's contents: on a repository of 20,000
// commits it took 17 s and 880 MB for one line that a commit 10,000 commits
// back had written, and most lines asked about (the failing line of a
// recent regression) were written a few commits before the deploy.
//
// At each commit the line goes to the first parent that has the file with
// the same content (the line number unchanged), else to the first parent
// whose version of the file keeps the line through a line diff; when no
// parent has it, the commit wrote it. That is the answer go-git's and git's
// blame give for a single line: both pass a line to every parent holding
// it and keep the lowest-numbered parent's answer. A file missing from a
// parent is looked for under the name it had there (rename detection, as
// git's blame follows renames).

// blameKey names a line of a file at a commit.
type blameKey struct {
	commit plumbing.Hash
	path   string
	line   int
}

// blobKey names a file's content at a commit.
type blobKey struct {
	commit plumbing.Hash
	path   string
}

// Bounds of the walk's caches; past them a cache starts over. The caches
// of file contents and line maps are bounded by bytes: a walk through two
// thousand revisions of a 10,000-line file reads them all, and a count
// bound would have kept most of a gigabyte.
const (
	maxCachedBlobs     = 1 << 16
	maxCachedBlames    = 1 << 14
	maxCachedTextBytes = 64 << 20
	maxCachedMapBytes  = 16 << 20
)

// cached looks k up in m, one of the Repo's caches, under mu.
func cached[K comparable, V any](mu *sync.Mutex, m map[K]V, k K) (V, bool) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[k]
	return v, ok
}

// store puts v in m under mu; a cache that reached max starts over (a crude
// bound: what is in use is read again).
func store[K comparable, V any](mu *sync.Mutex, m map[K]V, k K, v V, max int) {
	mu.Lock()
	defer mu.Unlock()
	if len(m) >= max {
		clear(m)
	}
	m[k] = v
}

// storeSized is store bounded by the bytes of the values: *total counts
// them, and the cache starts over before passing max.
func storeSized[K comparable, V any](mu *sync.Mutex, m map[K]V, k K, v V, size int, total *int, max int) {
	mu.Lock()
	defer mu.Unlock()
	if *total+size > max {
		clear(m)
		*total = 0
	}
	m[k] = v
	*total += size
}

// walkBlame returns the commit that last changed 1-based line of rel at
// commit at.
func (r *Repo) walkBlame(ctx context.Context, at plumbing.Hash, rel string, line int) (plumbing.Hash, error) {
	start := blameKey{at, rel, line}
	if c, ok := cached(&r.mu, r.lineBlames, start); ok {
		return c, nil
	}
	lines, blob, err := r.linesAt(ctx, at, rel)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if line < 1 || line > len(lines) {
		return plumbing.ZeroHash, fmt.Errorf("line %d is outside the file (%d lines)", line, len(lines))
	}
	cur := blameKey{at, rel, line}
	for {
		if err := ctx.Err(); err != nil {
			return plumbing.ZeroHash, err
		}
		next, nextBlob, err := r.blameStep(ctx, cur, blob)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if next.commit.IsZero() {
			break
		}
		cur, blob = next, nextBlob
	}
	store(&r.mu, r.lineBlames, start, cur.commit, maxCachedBlames)
	return cur.commit, nil
}

// blameStep moves the line cur (whose file content is blob) into the parent
// that has it, or returns a zero key when cur.commit wrote it.
func (r *Repo) blameStep(ctx context.Context, cur blameKey, blob plumbing.Hash) (blameKey, plumbing.Hash, error) {
	meta, err := r.commitMetaOf(ctx, cur.commit)
	if err != nil {
		return blameKey{}, plumbing.ZeroHash, err
	}
	parents := meta.parents
	type candidate struct {
		path string
		blob plumbing.Hash
	}
	cands := make([]candidate, 0, len(parents))
	for _, p := range parents {
		path, pb, err := r.parentFile(ctx, p, cur.commit, cur.path)
		if err != nil {
			return blameKey{}, plumbing.ZeroHash, err
		}
		if pb.IsZero() {
			cands = append(cands, candidate{})
			continue
		}
		if pb == blob {
			return blameKey{p, path, cur.line}, pb, nil
		}
		cands = append(cands, candidate{path, pb})
	}
	for i, p := range parents {
		cd := cands[i]
		if cd.blob.IsZero() {
			continue
		}
		m, err := r.blobLineMap(ctx, cd.blob, blob)
		if err != nil {
			return blameKey{}, plumbing.ZeroHash, err
		}
		if cur.line < len(m) && m[cur.line] > 0 {
			return blameKey{p, cd.path, m[cur.line]}, cd.blob, nil
		}
	}
	return blameKey{}, plumbing.ZeroHash, nil
}

// parentFile returns the name and content hash that rel of commit child has
// in its parent: rel itself, else the name a rename detected between the
// two commits gives it; a zero hash when the parent has neither.
func (r *Repo) parentFile(ctx context.Context, parent, child plumbing.Hash, rel string) (string, plumbing.Hash, error) {
	b, err := r.blobAt(ctx, parent, rel)
	if err != nil || !b.IsZero() {
		return rel, b, err
	}
	renames, err := r.renamesBetween(ctx, parent, child)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	for from, to := range renames {
		if to == rel {
			b, err := r.blobAt(ctx, parent, from)
			return from, b, err
		}
	}
	return "", plumbing.ZeroHash, nil
}

// blobAt returns the hash of rel's content at commit h, zero when h has no
// such file; cached, since a walk asks each commit about its file twice
// (as a parent, then as the commit) and walks of other lines ask again.
func (r *Repo) blobAt(ctx context.Context, h plumbing.Hash, rel string) (plumbing.Hash, error) {
	key := blobKey{h, rel}
	if b, ok := cached(&r.mu, r.blobs, key); ok {
		return b, nil
	}
	var b plumbing.Hash
	meta, err := r.commitMetaOf(ctx, h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	err = r.withGit(ctx, func() error {
		tree, rest := meta.tree, rel
		for {
			name, more, sub := strings.Cut(rest, "/")
			e, found, err := r.treeEntry(tree, name)
			if err != nil || !found {
				return err
			}
			if !sub {
				if e.mode.IsFile() {
					b = e.hash
				}
				return nil
			}
			if e.mode != filemode.Dir {
				return nil
			}
			tree, rest = e.hash, more
		}
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("find %s at %s: %w", rel, short(h), err)
	}
	store(&r.mu, r.blobs, key, b, maxCachedBlobs)
	return b, nil
}

// commitMeta is what the walk needs of a commit.
type commitMeta struct {
	tree    plumbing.Hash
	parents []plumbing.Hash
}

// commitMetaOf returns the tree and parents of commit h, cached.
func (r *Repo) commitMetaOf(ctx context.Context, h plumbing.Hash) (commitMeta, error) {
	if m, ok := cached(&r.mu, r.metas, h); ok {
		return m, nil
	}
	var m commitMeta
	err := r.withGit(ctx, func() error {
		c, err := r.commitObject(h)
		if err != nil {
			return err
		}
		m = commitMeta{tree: c.TreeHash, parents: c.ParentHashes}
		return nil
	})
	if err != nil {
		return commitMeta{}, err
	}
	store(&r.mu, r.metas, h, m, maxCachedBlobs)
	return m, nil
}

// entry is a tree entry found by treeEntry.
type entry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// treeEntry finds name in tree h by scanning the tree's encoded entries
// ("<octal mode> <name>\0<20-byte hash>" each) without decoding them all:
// a walk reads one root tree per commit, and go-git's decoding, which
// allocates every entry, was most of the walk's time. Entries of subtrees,
// shared by many commits, are cached. The caller holds the go-git lock.
func (r *Repo) treeEntry(h plumbing.Hash, name string) (entry, bool, error) {
	key := blobKey{h, name}
	if e, ok := r.entries[key]; ok {
		return e, !e.hash.IsZero(), nil
	}
	o, err := r.repo.Storer.EncodedObject(plumbing.TreeObject, h)
	if err != nil {
		return entry{}, false, fmt.Errorf("read tree %s: %w", short(h), err)
	}
	rd, err := o.Reader()
	if err != nil {
		return entry{}, false, fmt.Errorf("read tree %s: %w", short(h), err)
	}
	r.treeBuf.Reset()
	_, err = r.treeBuf.ReadFrom(rd)
	rd.Close()
	if err != nil {
		return entry{}, false, fmt.Errorf("read tree %s: %w", short(h), err)
	}
	var found entry
	data := r.treeBuf.Bytes()
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp < 0 || nul < sp || len(data) < nul+1+hashLen {
			return entry{}, false, fmt.Errorf("read tree %s: malformed entry", short(h))
		}
		if string(data[sp+1:nul]) == name {
			mode, err := filemode.New(string(data[:sp]))
			if err != nil {
				return entry{}, false, fmt.Errorf("read tree %s: %w", short(h), err)
			}
			found.mode = mode
			copy(found.hash[:], data[nul+1:nul+1+hashLen])
			break
		}
		data = data[nul+1+hashLen:]
	}
	if len(r.entries) >= maxCachedBlobs {
		clear(r.entries)
	}
	r.entries[key] = found
	return found, !found.hash.IsZero(), nil
}

// hashLen is the length of a SHA-1 object name in a tree entry.
const hashLen = 20

// blobLines returns the lines of a file's content, cached by its hash.
func (r *Repo) blobLines(ctx context.Context, blob plumbing.Hash) ([]string, error) {
	if lines, ok := cached(&r.mu, r.blobText, blob); ok {
		return lines, nil
	}
	var b []byte
	err := r.withGit(ctx, func() error {
		o, err := r.repo.BlobObject(blob)
		if err != nil {
			return fmt.Errorf("read blob %s: %w", short(blob), err)
		}
		rd, err := o.Reader()
		if err != nil {
			return fmt.Errorf("read blob %s: %w", short(blob), err)
		}
		defer rd.Close()
		if b, err = io.ReadAll(rd); err != nil {
			return fmt.Errorf("read blob %s: %w", short(blob), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	lines := splitLines(b)
	storeSized(&r.mu, r.blobText, blob, lines, len(b)+16*len(lines), &r.blobTextBytes, maxCachedTextBytes)
	return lines, nil
}

// blobLineMap maps the 1-based lines of the newer content (b) to the lines
// of the older one (a) that a line diff keeps equal, 0 for lines it
// inserted; index 0 is unused. Cached per pair of contents: walks of other
// lines of the file cross the same changes.
func (r *Repo) blobLineMap(ctx context.Context, a, b plumbing.Hash) ([]int, error) {
	key := [2]plumbing.Hash{a, b}
	if m, ok := cached(&r.mu, r.lineMaps, key); ok {
		return m, nil
	}
	old, err := r.blobLines(ctx, a)
	if err != nil {
		return nil, err
	}
	cur, err := r.blobLines(ctx, b)
	if err != nil {
		return nil, err
	}
	m := make([]int, len(cur)+1)
	i, j := 0, 0 // lines of old and cur passed
	for _, op := range diffLines(old, cur) {
		switch op.kind {
		case diffmatchpatch.DiffEqual:
			for k := 0; k < op.n; k++ {
				m[j+k+1] = i + k + 1
			}
			i += op.n
			j += op.n
		case diffmatchpatch.DiffDelete:
			i += op.n
		case diffmatchpatch.DiffInsert:
			j += op.n
		}
	}
	storeSized(&r.mu, r.lineMaps, key, m, 8*len(m), &r.lineMapBytes, maxCachedMapBytes)
	return m, nil
}

// FirstParents returns up to max commits of from's first-parent history,
// from itself first: the line of releases a main branch deploys.
func (r *Repo) FirstParents(ctx context.Context, from string, max int) ([]string, error) {
	h, err := r.resolve(ctx, from)
	if err != nil {
		return nil, err
	}
	var out []string
	for len(out) < max {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, h.String())
		meta, err := r.commitMetaOf(ctx, h)
		if err != nil {
			return out, err
		}
		if len(meta.parents) == 0 {
			break
		}
		h = meta.parents[0]
	}
	return out, nil
}

// LinesAt returns the lines of path at commit and an identity of that
// content (its blob hash: equal for equal contents). Errors wrap
// ErrFileNotFound when the commit has no such file.
func (r *Repo) LinesAt(ctx context.Context, commit, path string) ([]string, string, error) {
	rel, err := r.relPath(path)
	if err != nil {
		return nil, "", err
	}
	h, err := r.resolve(ctx, commit)
	if err != nil {
		return nil, "", err
	}
	lines, blob, err := r.linesAt(ctx, h, rel)
	return lines, blob.String(), err
}

// linesAt returns the lines of rel at commit h and their blob. Contents are
// cached by blob, so a file unchanged across commits is read once. Errors
// wrap ErrFileNotFound when h has no such file.
func (r *Repo) linesAt(ctx context.Context, h plumbing.Hash, rel string) ([]string, plumbing.Hash, error) {
	blob, err := r.blobAt(ctx, h, rel)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if blob.IsZero() {
		return nil, plumbing.ZeroHash, fmt.Errorf("%s at %s: %w", rel, short(h), ErrFileNotFound)
	}
	lines, err := r.blobLines(ctx, blob)
	return lines, blob, err
}
