package scenario

import (
	"context"
	"fmt"
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
// exist or be empty): every commit in order on branch main, with the fixed
// authors and times of the archives, a tag per deploy that asks for one
// (lightweight, or annotated by the commit's author at the deploy time), and worktree.txtar applied last without a commit. Marker comments
// are stripped. It returns commit id -> full sha; the shas are the same on
// every machine.
func (s *Scenario) Materialize(ctx context.Context, dst string) (map[string]string, error) {
	if entries, err := os.ReadDir(dst); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("materialize %s: %s is not empty", s.Name, dst)
	}
	repo, err := git.PlainInitWithOptions(dst, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, fmt.Errorf("materialize %s: init repository: %w", s.Name, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("materialize %s: open worktree: %w", s.Name, err)
	}
	shas := make(map[string]string, len(s.Commits))
	for _, c := range s.Commits {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sha, err := applyCommit(wt, dst, c)
		if err != nil {
			return nil, fmt.Errorf("materialize %s: commit %s: %w", s.Name, c.ID, err)
		}
		shas[c.ID] = sha
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
				return nil, fmt.Errorf("materialize %s: tag %s: %w", s.Name, name, err)
			}
			opts = &git.CreateTagOptions{Message: "Release " + name + "\n",
				Tagger: &object.Signature{Name: who, Email: email, When: d.At}}
		}
		if _, err := repo.CreateTag(name, plumbing.NewHash(shas[d.Commit]), opts); err != nil {
			return nil, fmt.Errorf("materialize %s: tag %s: %w", s.Name, name, err)
		}
	}
	if err := writeTree(dst, s.Worktree); err != nil {
		return nil, fmt.Errorf("materialize %s: apply %s: %w", s.Name, WorktreeFile, err)
	}
	return shas, nil
}

func applyCommit(wt *git.Worktree, dst string, c Commit) (string, error) {
	if err := writeTree(dst, c.Files); err != nil {
		return "", err
	}
	for _, p := range sortedKeys(c.Files) {
		if _, err := wt.Add(p); err != nil {
			return "", fmt.Errorf("add %s: %w", p, err)
		}
	}
	for _, p := range c.Deleted {
		if _, err := wt.Remove(p); err != nil {
			return "", fmt.Errorf("remove %s: %w", p, err)
		}
	}
	name, email, err := splitAuthor(c.Author)
	if err != nil {
		return "", err
	}
	sig := &object.Signature{Name: name, Email: email, When: c.Time}
	h, err := wt.Commit(c.Message(), &git.CommitOptions{Author: sig, Committer: sig})
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
