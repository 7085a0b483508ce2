package lsp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// gitDebounce lets a burst of ref updates (a rebase rewrites many) settle
// into one re-analysis.
const gitDebounce = 300 * time.Millisecond

// watchGit re-analyses a root when its HEAD moves (a commit, a checkout, a
// pull): lines are carried to HEAD, so diagnostics must follow it at once,
// not at the next poll. It uses the kernel's file notifications, never a
// polling loop: an idle server does no work. A root that is not a git
// repository, or a system without inotify, simply keeps the poll interval.
func (s *server) watchGit(ctx context.Context, r *root) {
	gitDir := gitDirOf(r.path)
	if gitDir == "" {
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.log.printf("git watch %s: %v (HEAD changes wait for the next poll)", r.path, err)
		return
	}
	defer w.Close()
	// HEAD is replaced by a rename (HEAD.lock -> HEAD), so watch the folder.
	dirs := []string{gitDir, filepath.Join(gitDir, "refs", "heads")}
	_ = filepath.WalkDir(filepath.Join(gitDir, "refs", "heads"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dirs[1] && len(dirs) < 256 {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			s.log.printf("git watch %s: %v", d, err)
		}
	}
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if isRefChange(gitDir, ev.Name) {
				fire = time.After(gitDebounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.printf("git watch %s: %v", r.path, err)
		case <-fire:
			fire = nil
			s.log.printf("HEAD of %s moved: re-analysing", r.path)
			select {
			case r.refresh <- make(chan int, 1):
			case <-ctx.Done():
				return
			}
		}
	}
}

// isRefChange reports whether a changed path under .git moves HEAD: HEAD
// itself, packed-refs, or a branch ref. Lock files and the index are noise.
func isRefChange(gitDir, name string) bool {
	if strings.HasSuffix(name, ".lock") {
		return false
	}
	rel, err := filepath.Rel(gitDir, name)
	if err != nil {
		return false
	}
	rel = filepath.ToSlash(rel)
	return rel == "HEAD" || rel == "packed-refs" || strings.HasPrefix(rel, "refs/heads/")
}

// gitDirOf finds the .git folder of root (a folder, or a file pointing to
// one, as in worktrees and submodules); "" when there is none.
func gitDirOf(root string) string {
	p := filepath.Join(root, ".git")
	st, err := os.Stat(p)
	if err != nil {
		return ""
	}
	if st.IsDir() {
		return p
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if !ok {
		return ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	return dir
}
