package gitrepo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/faultline-dev/faultline/internal/histgen"
)

// benchRepo builds a repository of 50 generated files of 2,000 lines, then
// a second commit that inserts, edits and deletes lines in each, and returns
// 1,000 (path, line) frames of the first commit to carry.
func benchRepo(b *testing.B) (*fixture, []string, []int) {
	const files, linesPer, frames = 50, 2000, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	v1 := map[string]string{}
	v2 := map[string]string{}
	var paths []string
	for i := range files {
		p := fmt.Sprintf("pkg%d/file%d.go", i%5, i)
		paths = append(paths, p)
		ls := make([]string, linesPer)
		for j := range ls {
			ls[j] = fmt.Sprintf("\tv%d := compute(%d, %q)", j, rng.IntN(1000), p)
		}
		v1[p] = strings.Join(ls, "\n") + "\n"
		for range 20 { // insertions
			k := rng.IntN(len(ls))
			ls = append(ls[:k], append([]string{fmt.Sprintf("\t// inserted %d", rng.IntN(1e6))}, ls[k:]...)...)
		}
		for range 10 { // slight edits
			k := rng.IntN(len(ls))
			ls[k] += " + 1"
		}
		for range 5 { // deletions
			k := rng.IntN(len(ls))
			ls = append(ls[:k], ls[k+1:]...)
		}
		v2[p] = strings.Join(ls, "\n") + "\n"
	}
	f := &fixture{dir: b.TempDir(), shas: []string{""}}
	var err error
	if f.repo, err = gitPlainInit(f.dir); err != nil {
		b.Fatal(err)
	}
	when := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	h := f.commit(b, nil, commitFiles{author: "A", email: "a@example.com", msg: "v1", files: v1}, when)
	f.shas = append(f.shas, h.String())
	h = f.commit(b, v1, commitFiles{author: "B", email: "b@example.com", msg: "v2", files: v2}, when.Add(time.Hour))
	f.shas = append(f.shas, h.String())
	fp := make([]string, frames)
	fl := make([]int, frames)
	for i := range frames {
		fp[i], fl[i] = paths[rng.IntN(files)], 1+rng.IntN(linesPer)
	}
	return f, fp, fl
}

// BenchmarkCarryLine measures one op = 1,000 frames carried from the first
// commit to the working tree, with warm caches (the steady state of a
// language server re-mapping incidents after each poll).
func BenchmarkCarryLine(b *testing.B) {
	f, paths, lines := benchRepo(b)
	r, err := Open(f.dir)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	carryAll(b, ctx, r, f.shas[1], paths, lines) // warm the caches
	for b.Loop() {
		carryAll(b, ctx, r, f.shas[1], paths, lines)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(paths)), "ns/carry")
}

// BenchmarkCarryLineCold is the same with a fresh Repo each op: every line
// map is computed (50 diffs of 2,000 lines) and every file read.
func BenchmarkCarryLineCold(b *testing.B) {
	f, paths, lines := benchRepo(b)
	ctx := context.Background()
	for b.Loop() {
		r, err := Open(f.dir)
		if err != nil {
			b.Fatal(err)
		}
		carryAll(b, ctx, r, f.shas[1], paths, lines)
	}
}

// carryAll carries every frame through one snapshot, as a poll does.
func carryAll(b *testing.B, ctx context.Context, r *Repo, from string, paths []string, lines []int) {
	s, err := r.Snapshot(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range paths {
		c, err := s.CarryLine(ctx, from, paths[i], lines[i])
		if err != nil {
			b.Fatal(err)
		}
		if c.Line == 0 {
			b.Fatalf("%s:%d carried to line 0", paths[i], lines[i])
		}
	}
}

// BenchmarkBlameDeepHistory blames, on a history of 2,000 commits, a line
// that commit 1,000 wrote: the single-line walk this package uses, and
// go-git's whole-file Blame it replaced. One op opens the repository, so
// that no cache outlives it.
func BenchmarkBlameDeepHistory(b *testing.B) {
	const n = 2000
	dir := b.TempDir()
	line, author, err := histgen.Deep(dir, n)
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			c, err := r.Blame(ctx, "HEAD", histgen.File, line)
			if err != nil || c.Summary != author {
				b.Fatalf("blame = %+v, %v", c, err)
			}
		}
	})
	b.Run("go-git", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			repo, err := git.PlainOpen(dir)
			if err != nil {
				b.Fatal(err)
			}
			head, _ := repo.Head()
			c, _ := repo.CommitObject(head.Hash())
			res, err := git.Blame(c, histgen.File)
			if err != nil || len(res.Lines) < line || res.Lines[line-1].Text != histgen.Text {
				b.Fatalf("go-git blame: %v", err)
			}
		}
	})
}
