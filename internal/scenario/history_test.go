package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// historyFS is a scenario whose history branches: 002 on a release branch,
// 003 on main, 004 merging the release back (f.go changed on one side
// only, so the merge lists no files), 005 on main.
func historyFS(meta string) fstest.MapFS {
	c := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		"s/scenario.json":     c(meta),
		"s/commits/001.txtar": c("message: base\nauthor: A <a@x.io>\ndate: 2026-01-01T00:00:00Z\n-- f.go --\npackage f\n-- g.go --\npackage f\n"),
		"s/commits/002.txtar": c("message: hotfix\nauthor: A <a@x.io>\ndate: 2026-01-02T00:00:00Z\nbranch: release-1\n-- f.go --\npackage f\n\nvar x = y[3] // CRASH\n"),
		"s/commits/003.txtar": c("message: main work\nauthor: B <b@x.io>\ndate: 2026-01-03T00:00:00Z\nparent: 001\n-- g.go --\npackage f\n\nvar y = []int{}\n"),
		"s/commits/004.txtar": c("message: Merge branch 'release-1'\nauthor: B <b@x.io>\ndate: 2026-01-04T00:00:00Z\nmerge: 002\n"),
		"s/commits/005.txtar": c("message: later\nauthor: B <b@x.io>\ndate: 2026-01-05T00:00:00Z\n-- h.go --\npackage f\n"),
	}
}

const historyMeta = `{"service":"s","env":"prod","language":"go","deploys":[{"commit":"002","version":"v1.0.1","at":"2026-01-02T12:00:00Z"}],"incidents":[{"error_type":"index out of range","fixable":true,"runs":[{}]}]%s}`

func TestHistoryShapes(t *testing.T) {
	s, err := Load(historyFS(sprintf(historyMeta, "")), "s")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := s.TreeAt("004", true)
	if err != nil {
		t.Fatal(err)
	}
	if string(tree["g.go"]) != "package f\n\nvar y = []int{}\n" || string(tree["f.go"]) != "package f\n\nvar x = y[3] // CRASH\n" {
		t.Errorf("merge tree = %q", tree)
	}
	if c, err := s.IntroducedBy(""); err != nil || c.ID != "002" {
		t.Errorf("IntroducedBy = %s, %v; want the branch commit 002, not the merge", c.ID, err)
	}
	dir := filepath.Join(t.TempDir(), "repo")
	shas, err := s.Materialize(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	merge, err := r.CommitObject(plumbing.NewHash(shas["004"]))
	if err != nil || len(merge.ParentHashes) != 2 || merge.ParentHashes[0].String() != shas["003"] || merge.ParentHashes[1].String() != shas["002"] {
		t.Fatalf("merge commit parents = %v, %v", merge, err)
	}
	head, _ := r.Head()
	rel, _ := r.Reference(plumbing.NewBranchReferenceName("release-1"), true)
	if head.Name() != "refs/heads/main" || head.Hash().String() != shas["005"] || rel == nil || rel.Hash().String() != shas["002"] {
		t.Errorf("HEAD %v, release-1 %v", head, rel)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "f.go")); string(b) != "package f\n\nvar x = y[3]\n" {
		t.Errorf("working tree f.go = %q", b)
	}

	// HEAD older than the deploy: main at 001; a shallow clone of it.
	s, err = Load(historyFS(sprintf(historyMeta, `,"head":"001","shallow":true`)), "s")
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "shallow")
	if shas, err = s.Materialize(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	r, err = git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _ = r.Head()
	if head.Hash().String() != shas["001"] {
		t.Errorf("HEAD = %v, want 001", head)
	}
	if _, err := r.CommitObject(plumbing.NewHash(shas["002"])); err == nil {
		t.Error("a shallow clone holds the deployed commit")
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".git", "shallow")); err != nil || string(b) != shas["001"]+"\n" {
		t.Errorf(".git/shallow = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "h.go")); err == nil {
		t.Error("a later commit's file is in the working tree")
	}

	// A clone of main alone: HEAD's history, not the release branch.
	s, err = Load(historyFS(sprintf(historyMeta, `,"head":"003","head_history_only":true`)), "s")
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "main-only")
	if shas, err = s.Materialize(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	r, err = git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CommitObject(plumbing.NewHash(shas["001"])); err != nil {
		t.Errorf("HEAD's parent is missing: %v", err)
	}
	if _, err := r.CommitObject(plumbing.NewHash(shas["002"])); err == nil {
		t.Error("the clone holds the release branch's commit")
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); err == nil {
		t.Error("a full clone of main is not shallow")
	}
	if !s.deployedCommitMissing() {
		t.Error("deployedCommitMissing = false")
	}
}

func sprintf(format, arg string) string { return fmt.Sprintf(format, arg) }
