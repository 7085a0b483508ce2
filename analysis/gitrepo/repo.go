// Package gitrepo is the analysis' only door to git: it resolves deployed
// versions to commits, carries lines from a deployed commit to the working
// tree, blames lines and lists history, on top of go-git.
//
// The analysis itself stays pure (data in, incidents out); it asks this
// package for facts about one repository. A Repo caches what is expensive
// (file contents, line maps, blames) and is safe for concurrent use: go-git
// calls are serialised, and every method stops waiting when its context is
// cancelled.
//
// Paths are repo-relative with forward slashes; lines are 1-based.
package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/faultline-dev/faultline/incident"
)

// Errors callers can test for with errors.Is.
var (
	ErrNotRepo        = errors.New("not a git repository")
	ErrNoCommits      = errors.New("repository has no commits yet")
	ErrUnknownVersion = errors.New("unknown version")
	ErrAmbiguous      = errors.New("ambiguous version")
	ErrFileNotFound   = errors.New("file not found")
	ErrOutsideRepo    = errors.New("path is outside the repository")
	ErrShallow        = errors.New("history is cut off by a shallow clone")
)

// Repo is one opened repository with its working tree.
type Repo struct {
	repo      *git.Repository
	root      string // absolute worktree root
	realRoot  string // root with symlinks resolved, to recognise absolute paths
	gitDir    string // this worktree's git dir: HEAD, rebase state
	commonDir string // shared git dir: refs, packed-refs

	// sem serialises go-git access (its storage is not documented as safe for
	// concurrent use) and lets a waiting caller give up when ctx ends.
	sem chan struct{}

	mu       sync.Mutex // guards the caches below
	head     headState
	resolved map[string]plumbing.Hash // full shas and sha prefixes: immutable
	commits  map[plumbing.Hash]incident.Commit
	work     map[string]workFile // lines of a file on disk
	drifts   map[fileKey]*driftEntry
	renames  map[[2]plumbing.Hash]map[string]string
	// The blame walk's caches (see blamewalk.go).
	lineBlames map[blameKey]plumbing.Hash
	blobs      map[blobKey]plumbing.Hash
	blobText   map[plumbing.Hash][]string
	lineMaps   map[[2]plumbing.Hash][]int
	// Bytes held by blobText and lineMaps (see storeSized).
	blobTextBytes, lineMapBytes int
	metas                       map[plumbing.Hash]commitMeta
	entries                     map[blobKey]entry // under the go-git lock, as treeBuf
	treeBuf                     bytes.Buffer
	ignore                      ignoreState
}

// fileKey names a file at a commit.
type fileKey struct {
	commit plumbing.Hash
	path   string
}

// Open opens the repository containing root, walking up to the nearest .git
// (a directory, or a file pointing at a linked worktree's git dir). Errors
// wrap ErrNotRepo when there is none.
func Open(root string) (*Repo, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("open repository at %s: %w", root, ErrNotRepo)
	}
	if err != nil {
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	if repo, err = reopenStorage(repo); err != nil {
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("open repository at %s: a bare repository has no working tree: %w", root, err)
	}
	r := &Repo{
		repo:       repo,
		root:       wt.Filesystem.Root(),
		sem:        make(chan struct{}, 1),
		resolved:   make(map[string]plumbing.Hash),
		commits:    make(map[plumbing.Hash]incident.Commit),
		work:       make(map[string]workFile),
		drifts:     make(map[fileKey]*driftEntry),
		renames:    make(map[[2]plumbing.Hash]map[string]string),
		lineBlames: make(map[blameKey]plumbing.Hash),
		blobs:      make(map[blobKey]plumbing.Hash),
		blobText:   make(map[plumbing.Hash][]string),
		lineMaps:   make(map[[2]plumbing.Hash][]int),
		metas:      make(map[plumbing.Hash]commitMeta),
		entries:    make(map[blobKey]entry),
	}
	r.realRoot, _ = filepath.EvalSymlinks(r.root)
	if r.gitDir, r.commonDir, err = findGitDirs(r.root); err != nil {
		return nil, fmt.Errorf("open repository at %s: %w", root, err)
	}
	return r, nil
}

// openPackfiles is how many packfiles the object storage keeps open.
// go-git's default opens and closes a packfile for every object it reads
// from one: go-git's blame over twenty thousand commits spent half its
// time in open(2) and lstat(2) (18 s before, 11 s after).
const openPackfiles = 16

// reopenStorage opens repo's object storage again with packfiles kept open,
// on the same git dirs PlainOpen found.
func reopenStorage(repo *git.Repository) (*git.Repository, error) {
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return repo, nil
	}
	wt, err := repo.Worktree()
	if err != nil {
		return repo, nil // bare: Open reports it
	}
	s := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(),
		filesystem.Options{MaxOpenDescriptors: openPackfiles})
	return git.Open(s, wt.Filesystem)
}

// findGitDirs locates the worktree's git dir (.git, or where a .git file
// points) and the common dir holding refs (from its commondir file).
func findGitDirs(root string) (gitDir, commonDir string, err error) {
	dotgit := filepath.Join(root, ".git")
	fi, err := os.Stat(dotgit)
	if err != nil {
		return "", "", fmt.Errorf("find git dir: %w", err)
	}
	gitDir = dotgit
	if !fi.IsDir() {
		b, err := os.ReadFile(dotgit)
		if err != nil {
			return "", "", fmt.Errorf("read .git file: %w", err)
		}
		target, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !ok {
			return "", "", fmt.Errorf("read .git file: no gitdir line: %w", ErrNotRepo)
		}
		gitDir = strings.TrimSpace(target)
		if !filepath.IsAbs(gitDir) {
			gitDir = filepath.Join(root, gitDir)
		}
	}
	commonDir = gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		commonDir = strings.TrimSpace(string(b))
		if !filepath.IsAbs(commonDir) {
			commonDir = filepath.Join(gitDir, commonDir)
		}
	}
	return gitDir, commonDir, nil
}

// Root returns the absolute root of the working tree.
func (r *Repo) Root() string { return r.root }

// State names an operation in progress that leaves HEAD detached or the
// working tree half-merged: "rebase", "merge", "cherry-pick", "revert",
// "bisect", or "" when there is none. Methods keep working during one (HEAD is
// then the commit git stopped at); callers may want to say so to the user.
func (r *Repo) State() string {
	for _, s := range []struct{ file, state string }{
		{"rebase-merge", "rebase"}, {"rebase-apply", "rebase"},
		{"MERGE_HEAD", "merge"}, {"CHERRY_PICK_HEAD", "cherry-pick"},
		{"REVERT_HEAD", "revert"}, {"BISECT_LOG", "bisect"},
	} {
		if _, err := os.Stat(filepath.Join(r.gitDir, s.file)); err == nil {
			return s.state
		}
	}
	return ""
}

// withGit runs fn holding the go-git lock, giving up when ctx ends first. A
// panic inside go-git becomes an error: a bad object must not take the
// language server down.
func (r *Repo) withGit(ctx context.Context, fn func() error) (err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	if err := ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("go-git failed: %v", p)
		}
	}()
	return r.explain(fn())
}

// explain adds what the repository's state tells about an error: objects
// missing from a shallow clone, or an operation in progress.
func (r *Repo) explain(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		if shallow, _ := r.repo.Storer.Shallow(); len(shallow) > 0 {
			return fmt.Errorf("%w (fetch more with `git fetch --unshallow`): %w", ErrShallow, err)
		}
	}
	if st := r.State(); st != "" {
		return fmt.Errorf("%w (a %s is in progress)", err, st)
	}
	return err
}

// relPath turns a path given by a caller (repo-relative, or absolute inside
// the working tree; either slash) into a clean repo-relative slash path.
func (r *Repo) relPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path: %w", ErrFileNotFound)
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(r.root, p)
		if (err != nil || strings.HasPrefix(rel, "..")) && r.realRoot != "" {
			rel, err = filepath.Rel(r.realRoot, p)
		}
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: %w %s", p, ErrOutsideRepo, r.root)
		}
		p = rel
	}
	clean := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") {
		return "", fmt.Errorf("%s: %w %s", p, ErrOutsideRepo, r.root)
	}
	return clean, nil
}

// commitObject loads a commit; the caller holds the go-git lock.
func (r *Repo) commitObject(h plumbing.Hash) (*object.Commit, error) {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("load commit %s: %w", h, err)
	}
	return c, nil
}

// commitInfo describes a commit for the analysis, cached.
func (r *Repo) commitInfo(ctx context.Context, h plumbing.Hash) (incident.Commit, error) {
	r.mu.Lock()
	info, ok := r.commits[h]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	err := r.withGit(ctx, func() error {
		c, err := r.commitObject(h)
		if err != nil {
			return err
		}
		info = toCommit(c)
		return nil
	})
	if err != nil {
		return incident.Commit{}, err
	}
	r.mu.Lock()
	r.commits[h] = info
	r.mu.Unlock()
	return info, nil
}

func toCommit(c *object.Commit) incident.Commit {
	summary, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	parents := make([]string, len(c.ParentHashes))
	for i, p := range c.ParentHashes {
		parents[i] = p.String()
	}
	return incident.Commit{
		SHA:        c.Hash.String(),
		Author:     c.Author.Name,
		Summary:    strings.TrimSpace(summary),
		Time:       c.Author.When,
		Parents:    parents,
		PickedFrom: pickedFrom(c.Message),
	}
}

// pickedFrom returns the sha in the last "(cherry picked from commit SHA)"
// line `git cherry-pick -x` adds to a message, or "". A fix picked onto a
// release branch is blamed on the pick, the commit that shipped; the
// original is what its author knows.
func pickedFrom(msg string) string {
	const trailer = "(cherry picked from commit "
	sha := ""
	for l := range strings.SplitSeq(msg, "\n") {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, trailer); ok {
			if h, ok := strings.CutSuffix(rest, ")"); ok && len(h) >= 7 && isHex(h) {
				sha = h
			}
		}
	}
	return sha
}
