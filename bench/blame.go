package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/internal/histgen"
)

// benchBlame blames one line of a long history, the suspect-commit step of
// every incident: Faultline's single-line walk (gitrepo.Repo.Blame) against
// go-git's whole-file Blame, which it replaced, on the same repository.
// Each run opens the repository afresh, so no cache outlives it.
func benchBlame(ctx context.Context, dir string, sz sizes) ([]row, error) {
	repo := filepath.Join(dir, "history")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return nil, fmt.Errorf("create repository dir: %w", err)
	}
	progress("generating a %d-commit history", sz.commits)
	line, author, err := histgen.Deep(repo, sz.commits)
	if err != nil {
		return []row{{Name: "Blame: skipped (" + err.Error() + ")"}}, nil
	}
	walk := func() error {
		r, err := gitrepo.Open(repo)
		if err != nil {
			return err
		}
		c, err := r.Blame(ctx, "HEAD", histgen.File, line)
		if err == nil && c.Summary != author {
			err = fmt.Errorf("walk blamed %q, want %q", c.Summary, author)
		}
		return err
	}
	goGit := func() error {
		r, err := git.PlainOpen(repo)
		if err != nil {
			return err
		}
		head, err := r.Head()
		if err != nil {
			return err
		}
		c, err := r.CommitObject(head.Hash())
		if err != nil {
			return err
		}
		res, err := git.Blame(c, histgen.File)
		if err == nil && (len(res.Lines) < line || res.Lines[line-1].Text != histgen.Text) {
			err = fmt.Errorf("go-git blame: line %d is not the failing line", line)
		}
		return err
	}
	progress("blame: walk and go-git, fastest of 3 each")
	w, wAlloc, err := fastest(walk)
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	g, gAlloc, err := fastest(goGit)
	if err != nil {
		return nil, fmt.Errorf("go-git: %w", err)
	}
	return []row{{
		Name: fmt.Sprintf("Blame one failing line (suspect commit) on a %d-commit history, the line written %d commits back: single-line walk vs go-git's whole-file Blame, fastest of 3 (allocated bytes)",
			sz.commits, sz.commits-sz.commits/2),
		Measured: fmt.Sprintf("%s (%s)", w.Round(time.Millisecond), mb(wAlloc)),
		Baseline: fmt.Sprintf("%s (%s)", g.Round(time.Millisecond), mb(gAlloc)),
		Ratio:    fmt.Sprintf("%.1fx faster", float64(g)/float64(w)),
	}}, nil
}

// fastest runs fn three times and returns its fastest time and the bytes
// the fastest run allocated.
func fastest(fn func() error) (time.Duration, uint64, error) {
	best, alloc := time.Duration(1<<62), uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		if d := time.Since(start); d < best {
			runtime.ReadMemStats(&after)
			best, alloc = d, after.TotalAlloc-before.TotalAlloc
		}
	}
	return best, alloc, nil
}
