package scenario

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Materialize writes the scenario's repository into dst (which must not
// exist or be empty): every commit in order, on its parents (see the
// package doc), with the fixed authors and times of the archives; branch
// main at the head commit and checked out, a branch per "branch:" header, a
// tag per deploy that asks for one (lightweight, or annotated by the
// commit's author at the deploy time), and worktree.txtar applied last
// without a commit. A shallow scenario's repository holds only the head
// commit, as `git clone --depth 1` makes. Marker comments are stripped. It
// returns commit id -> full sha; the shas are the same on every machine.
func (s *Scenario) Materialize(ctx context.Context, dst string) (map[string]string, error) {
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("materialize %s: %s is not empty", s.Name, dst)
	}
	full := dst
	if s.Meta.Shallow || s.Meta.HeadHistoryOnly {
		tmp, err := os.MkdirTemp("", "faultline-scenario-")
		if err != nil {
			return nil, fmt.Errorf("materialize %s: %w", s.Name, err)
		}
		defer os.RemoveAll(tmp)
		full = tmp
	}
	repo, shas, err := s.materialize(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("materialize %s: %w", s.Name, err)
	}
	if s.Meta.Shallow || s.Meta.HeadHistoryOnly {
		if err := cloneHead(repo, dst, plumbing.NewHash(shas[s.HeadID()]), s.Meta.Shallow); err != nil {
			return nil, fmt.Errorf("materialize %s: clone: %w", s.Name, err)
		}
	}
	if err := writeTree(dst, s.Worktree); err != nil {
		return nil, fmt.Errorf("materialize %s: apply %s: %w", s.Name, WorktreeFile, err)
	}
	return shas, nil
}

func (s *Scenario) materialize(ctx context.Context, dst string) (*git.Repository, map[string]string, error) {
	repo, err := git.PlainInitWithOptions(dst, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("init repository: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, nil, fmt.Errorf("open worktree: %w", err)
	}
	trees, err := s.trees()
	if err != nil {
		return nil, nil, err
	}
	shas := make(map[string]string, len(s.Commits))
	var cur plumbing.Hash // the commit checked out
	for i, c := range s.Commits {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		var parents []plumbing.Hash
		prev := map[string][]byte{}
		for j, p := range s.parents(i) {
			parents = append(parents, plumbing.NewHash(shas[p]))
			if j == 0 {
				prev = trees[s.commitIndex(p)]
			}
		}
		if len(parents) > 0 && parents[0] != cur {
			if err := wt.Checkout(&git.CheckoutOptions{Hash: parents[0], Force: true}); err != nil {
				return nil, nil, fmt.Errorf("commit %s: check out its parent: %w", c.ID, err)
			}
		}
		files, deleted := treeDiff(prev, trees[i])
		sha, err := applyCommit(wt, dst, c, files, deleted, parents)
		if err != nil {
			return nil, nil, fmt.Errorf("commit %s: %w", c.ID, err)
		}
		shas[c.ID], cur = sha, plumbing.NewHash(sha)
	}
	main := plumbing.NewBranchReferenceName("main")
	if head := plumbing.NewHash(shas[s.HeadID()]); head != cur || s.parentsMoved() {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(main, head)); err != nil {
			return nil, nil, err
		}
		if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, main)); err != nil {
			return nil, nil, err
		}
		if err := wt.Checkout(&git.CheckoutOptions{Branch: main, Force: true}); err != nil {
			return nil, nil, fmt.Errorf("check out main: %w", err)
		}
	}
	for _, c := range s.Commits {
		if c.Branch != "" {
			ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(c.Branch), plumbing.NewHash(shas[c.ID]))
			if err := repo.Storer.SetReference(ref); err != nil {
				return nil, nil, fmt.Errorf("branch %s: %w", c.Branch, err)
			}
		}
	}
	for _, d := range s.Meta.Deploys {
		if !d.Tag || d.VersionIsSHA {
			continue
		}
		name := d.Version
		if d.TagName != "" {
			name = d.TagName
		}
		var opts *git.CreateTagOptions
		if d.AnnotatedTag {
			c := s.Commits[s.commitIndex(d.Commit)]
			who, email, err := splitAuthor(c.Author)
			if err != nil {
				return nil, nil, fmt.Errorf("tag %s: %w", name, err)
			}
			opts = &git.CreateTagOptions{Message: "Release " + name + "\n",
				Tagger: &object.Signature{Name: who, Email: email, When: d.At}}
		}
		if _, err := repo.CreateTag(name, plumbing.NewHash(shas[d.Commit]), opts); err != nil {
			return nil, nil, fmt.Errorf("tag %s: %w", name, err)
		}
	}
	return repo, shas, nil
}

// parentsMoved reports whether any commit is made on another parent than
// the archive before it (HEAD was then detached while committing).
func (s *Scenario) parentsMoved() bool {
	for _, c := range s.Commits {
		if c.Parent != "" || c.Merge != "" {
			return true
		}
	}
	return false
}

// treeDiff lists what turns tree a into tree b: files to write, paths to
// remove.
func treeDiff(a, b map[string][]byte) (map[string][]byte, []string) {
	files := map[string][]byte{}
	for p, x := range b {
		if y, ok := a[p]; !ok || string(x) != string(y) {
			files[p] = x
		}
	}
	var deleted []string
	for p := range a {
		if _, ok := b[p]; !ok {
			deleted = append(deleted, p)
		}
	}
	sort.Strings(deleted)
	return files, deleted
}

// cloneHead makes dst a repository holding commit head of src and, unless
// shallow, all its ancestors (with their trees and blobs), main checked
// out at head, and the tags of src that point at a commit it holds: what
// `git clone --single-branch` leaves, or with shallow `git clone --depth 1`
// (.git/shallow names head).
func cloneHead(src *git.Repository, dst string, head plumbing.Hash, shallow bool) error {
	r, err := git.PlainInitWithOptions(dst, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return err
	}
	copied := map[plumbing.Hash]bool{}
	copyObj := func(h plumbing.Hash) error {
		if copied[h] {
			return nil
		}
		copied[h] = true
		o, err := src.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return err
		}
		_, err = r.Storer.SetEncodedObject(o)
		return err
	}
	queue := []plumbing.Hash{head}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if copied[h] {
			continue
		}
		c, err := src.CommitObject(h)
		if err != nil {
			return err
		}
		if err := copyObj(h); err != nil {
			return err
		}
		if err := copyObj(c.TreeHash); err != nil {
			return err
		}
		tree, err := c.Tree()
		if err != nil {
			return err
		}
		w := object.NewTreeWalker(tree, true, nil)
		for {
			_, e, err := w.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				w.Close()
				return err
			}
			if err := copyObj(e.Hash); err != nil {
				w.Close()
				return err
			}
		}
		w.Close()
		if !shallow {
			queue = append(queue, c.ParentHashes...)
		}
	}
	if shallow {
		if err := r.Storer.SetShallow([]plumbing.Hash{head}); err != nil {
			return err
		}
	}
	tags, err := src.Tags()
	if err != nil {
		return err
	}
	err = tags.ForEach(func(ref *plumbing.Reference) error {
		target := ref.Hash()
		if t, err := src.TagObject(target); err == nil {
			target = t.Target
			if copied[t.Target] {
				if err := copyObj(ref.Hash()); err != nil {
					return err
				}
			}
		}
		if copied[target] {
			return r.Storer.SetReference(ref)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), head)); err != nil {
		return err
	}
	wt, err := r.Worktree()
	if err != nil {
		return err
	}
	return wt.Reset(&git.ResetOptions{Commit: head, Mode: git.HardReset})
}

func applyCommit(wt *git.Worktree, dst string, c Commit, files map[string][]byte, deleted []string, parents []plumbing.Hash) (string, error) {
	if err := writeTree(dst, files); err != nil {
		return "", err
	}
	for _, p := range sortedKeys(files) {
		if _, err := wt.Add(p); err != nil {
			return "", fmt.Errorf("add %s: %w", p, err)
		}
	}
	for _, p := range deleted {
		if _, err := wt.Remove(p); err != nil {
			return "", fmt.Errorf("remove %s: %w", p, err)
		}
	}
	name, email, err := splitAuthor(c.Author)
	if err != nil {
		return "", err
	}
	sig := &object.Signature{Name: name, Email: email, When: c.Time}
	h, err := wt.Commit(c.Message(), &git.CommitOptions{Author: sig, Committer: sig, Parents: parents, AllowEmptyCommits: len(parents) > 1})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	return h.String(), nil
}

// writeTree writes files (markers stripped) under dir.
func writeTree(dir string, files map[string][]byte) error {
	for _, p := range sortedKeys(files) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, StripMarkers(files[p]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteTree writes the files of TreeAt(id, false) under dir: the source as
// it was built in production.
func (s *Scenario) WriteTree(dir, id string) error {
	tree, err := s.TreeAt(id, false)
	if err != nil {
		return err
	}
	if err := writeTree(dir, tree); err != nil {
		return fmt.Errorf("write tree of %s@%s: %w", s.Name, id, err)
	}
	return nil
}

// WriteInputs copies logs.jsonl and deploys.jsonl into dir and returns
// their paths, for commands that read files from disk.
func (s *Scenario) WriteInputs(dir string) (logs, deploys string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("write inputs of %s: %w", s.Name, err)
	}
	out := make([]string, 2)
	for i, name := range []string{LogsFile, DeploysFile} {
		b, err := fs.ReadFile(s.fsys, path.Join(s.dir, name))
		if err != nil {
			return "", "", fmt.Errorf("write inputs of %s: %w", s.Name, err)
		}
		out[i] = filepath.Join(dir, name)
		if err := os.WriteFile(out[i], b, 0o644); err != nil {
			return "", "", fmt.Errorf("write inputs of %s: %w", s.Name, err)
		}
	}
	return out[0], out[1], nil
}

// Made is a scenario made real on disk: its repository and its inputs.
type Made struct {
	Repo, Logs, Deploys string
}

// Make materializes the repository under dir/repo and writes the inputs
// under dir/in: what a test needs to run the commands on a scenario.
func (s *Scenario) Make(ctx context.Context, dir string) (Made, error) {
	m := Made{Repo: filepath.Join(dir, "repo")}
	if _, err := s.Materialize(ctx, m.Repo); err != nil {
		return Made{}, err
	}
	var err error
	if m.Logs, m.Deploys, err = s.WriteInputs(filepath.Join(dir, "in")); err != nil {
		return Made{}, err
	}
	return m, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
