package analysis

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/incident"
)

// deployedFiles is a Repo that knows only the files of one deployed commit.
type deployedFiles map[string]string

var errNoGit = errors.New("not in this fake")

func (deployedFiles) Head(context.Context) (string, error)            { return "head", nil }
func (deployedFiles) Resolve(context.Context, string) (string, error) { return "", errNoGit }
func (deployedFiles) IsAncestor(context.Context, string, string) (bool, error) {
	return false, errNoGit
}
func (deployedFiles) CarryLine(context.Context, string, string, int) (gitrepo.Carry, error) {
	return gitrepo.Carry{}, errNoGit
}
func (deployedFiles) Blame(context.Context, string, string, int) (incident.Commit, error) {
	return incident.Commit{}, errNoGit
}
func (deployedFiles) BlameText(context.Context, string, string, int) (incident.Commit, error) {
	return incident.Commit{}, errNoGit
}
func (deployedFiles) ChangedFiles(context.Context, string, string) ([]string, error) {
	return nil, errNoGit
}
func (deployedFiles) Commits(context.Context, string, string) ([]incident.Commit, error) {
	return nil, errNoGit
}
func (deployedFiles) FirstParents(context.Context, string, int) ([]string, error) {
	return nil, errNoGit
}
func (deployedFiles) LinesAt(context.Context, string, string) ([]string, string, error) {
	return nil, "", errNoGit
}
func (d deployedFiles) FileAt(_ context.Context, commit, path string) ([]byte, error) {
	if s, ok := d[path]; ok && commit == "dep" {
		return []byte(s), nil
	}
	return nil, errNoGit
}

// TestCarriedColumn: a runtime's column (V8 prints one) survives a line
// that only moved, shifts with a re-indentation, and gives way to the
// statement's first character when the text changed or is unknown.
func TestCarriedColumn(t *testing.T) {
	root := t.TempDir()
	deployed := "function f(o) {\n  return o.price.amount;\n}\n"
	head := "// header\n\nfunction f(o) {\n  if (o) {\n      return o.price.amount;\n  }\n  return o.total.amount;\n}\n"
	if err := os.WriteFile(filepath.Join(root, "f.js"), []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapped := "// header\n\n\n\n\n\nfunction f(o) {\n  if (o) {\n    return o.price\n    return o.pricey.amount;\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(root, "w.js"), []byte(wrapped), 0o644); err != nil {
		t.Fatal(err)
	}
	a := New(Config{Root: root, Repo: deployedFiles{"f.js": deployed, "old.js": deployed}})
	// "  return o.price.amount;": V8 names column 17, the "." before amount.
	frame := func(col, line int, status, atDeploy string) incident.MappedFrame {
		return incident.MappedFrame{File: "f.js", Line: line, Column: col, LineStatus: status,
			RepoPathAtDeploy: atDeploy, OriginalLine: 2}
	}
	for _, c := range []struct {
		name     string
		f        incident.MappedFrame
		deployed string
		want     int
	}{
		{"moved and re-indented: shifted by 4", frame(17, 5, gitrepo.StatusMoved, "f.js"), "dep", 21},
		{"moved, text changed: statement start", frame(17, 7, gitrepo.StatusMoved, "f.js"), "dep", 3},
		{"renamed since the deploy, same text", frame(17, 5, gitrepo.StatusMoved, "old.js"), "dep", 21},
		{"no runtime column", frame(0, 5, gitrepo.StatusMoved, "f.js"), "dep", 7},
		{"deployed file unreadable", frame(17, 5, gitrepo.StatusMoved, "f.js"), "other", 7},
		{"deleted statement", frame(17, 7, gitrepo.StatusDeleted, "f.js"), "dep", 3},
		{"column past the line", frame(90, 5, gitrepo.StatusMoved, "f.js"), "dep", 7},
		// Line 9 of w.js is the statement wrapped after the column's token
		// (column 12: price).
		{"wrapped after the column: kept", incident.MappedFrame{File: "w.js", Line: 9, Column: 12,
			LineStatus: gitrepo.StatusMoved, RepoPathAtDeploy: "f.js", OriginalLine: 2}, "dep", 14},
		{"the column's identifier grew: statement start", incident.MappedFrame{File: "w.js", Line: 10, Column: 12,
			LineStatus: gitrepo.StatusMoved, RepoPathAtDeploy: "f.js", OriginalLine: 2}, "dep", 5},
	} {
		if got := a.carriedColumn(context.Background(), c.deployed, c.f); got != c.want {
			t.Errorf("%s: column %d, want %d", c.name, got, c.want)
		}
	}
}
