package pullrequest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// fallbackAuthor signs the commit when git has no user.name/user.email.
var fallbackAuthor = object.Signature{Name: "Faultline", Email: "faultline@localhost"}

// workspace is the user's repository, opened with go-git.
type workspace struct {
	root string // top-level directory
	repo *git.Repository
	head *object.Commit
}

func openWorkspace(root string) (*workspace, error) {
	repo, err := git.PlainOpenWithOptions(root, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w (Open PR needs the workspace to be a git repository)", root, err)
	}
	ref, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("read HEAD of %s: %w (commit something first)", root, err)
	}
	head, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read HEAD commit %s: %w", ref.Hash(), err)
	}
	top := root
	if wt, err := repo.Worktree(); err == nil {
		top = wt.Filesystem.Root()
	}
	return &workspace{root: top, repo: repo, head: head}, nil
}

// remote returns the named remote, parsed.
func (w *workspace) remote(name string, githubHosts []string) (remote, error) {
	rm, err := w.repo.Remote(name)
	if errors.Is(err, git.ErrRemoteNotFound) {
		names := w.remoteNames()
		hint := "add one with `git remote add " + name + " https://github.com/OWNER/REPO.git`"
		if len(names) > 0 {
			hint = "this repository has " + strings.Join(names, ", ") + "; set the remote to use, or " + hint
		}
		return remote{}, fmt.Errorf("no git remote named %q: %s", name, hint)
	}
	if err != nil {
		return remote{}, fmt.Errorf("read remote %q: %w", name, err)
	}
	urls := rm.Config().URLs
	if len(urls) == 0 {
		return remote{}, fmt.Errorf("git remote %q has no URL: set one with `git remote set-url %s URL`", name, name)
	}
	return parseRemote(name, urls[0], githubHosts)
}

func (w *workspace) remoteNames() []string {
	rs, _ := w.repo.Remotes()
	var names []string
	for _, r := range rs {
		names = append(names, r.Config().Name)
	}
	return names
}

// fallbackBase is the branch a pull request targets when GitHub did not say:
// the remote's HEAD branch as last fetched, else the current branch.
func (w *workspace) fallbackBase(remoteName string) string {
	if ref, err := w.repo.Reference(plumbing.NewRemoteHEADReferenceName(remoteName), false); err == nil && ref.Type() == plumbing.SymbolicReference {
		return strings.TrimPrefix(ref.Target().String(), "refs/remotes/"+remoteName+"/")
	}
	if ref, err := w.repo.Head(); err == nil && ref.Name().IsBranch() {
		return ref.Name().Short()
	}
	return ""
}

// fixTree applies the diff to HEAD's tree and returns the new tree, without
// touching the user's working tree or index: `git apply --cached` runs
// against a throw-away index file, and `git write-tree` stores the result
// in the repository's object database (unreferenced until pushed).
func (w *workspace) fixTree(ctx context.Context, diff string) (plumbing.Hash, error) {
	tmp, err := os.MkdirTemp("", "faultline-pr-")
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("create temporary index: %w", err)
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "GIT_INDEX_FILE="+filepath.Join(tmp, "index"))
	head := w.head.Hash.String()
	if _, err := w.git(ctx, env, nil, "read-tree", head); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read HEAD tree into a temporary index: %w", err)
	}
	if !strings.HasSuffix(diff, "\n") {
		diff += "\n"
	}
	if _, err := w.git(ctx, env, strings.NewReader(diff), "apply", "--cached", "--whitespace=nowarn", "-"); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("the fix does not apply at HEAD %s (regenerate it against the current code): %w", head[:12], err)
	}
	out, err := w.git(ctx, env, nil, "write-tree")
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write the fixed tree: %w", err)
	}
	tree := plumbing.NewHash(strings.TrimSpace(out))
	if tree == w.head.TreeHash {
		return plumbing.ZeroHash, fmt.Errorf("the fix changes nothing at HEAD %s: it may already be applied", head[:12])
	}
	return tree, nil
}

// commit stores a commit of tree on top of HEAD through go-git and returns
// its hash. No reference points at it: the push names it by hash.
func (w *workspace) commit(tree plumbing.Hash, msg string, now time.Time) (plumbing.Hash, error) {
	sig := w.signature(now)
	c := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      msg,
		TreeHash:     tree,
		ParentHashes: []plumbing.Hash{w.head.Hash},
	}
	obj := w.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	h, err := w.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("store commit: %w", err)
	}
	return h, nil
}

// signature is the user's git identity (repository, global and system
// config), or Faultline's when none is set.
func (w *workspace) signature(now time.Time) object.Signature {
	sig := fallbackAuthor
	if cfg, err := w.repo.ConfigScoped(config.SystemScope); err == nil {
		if cfg.User.Name != "" && cfg.User.Email != "" {
			sig = object.Signature{Name: cfg.User.Name, Email: cfg.User.Email}
		}
	}
	sig.When = now
	return sig
}

// push sends commit to refs/heads/<branch> of the remote with go-git. The
// branch is Faultline's own (faultline/<incident>) and has no open pull
// request when push runs, so it is force-updated: a leftover branch from an
// earlier attempt must not block a new one.
func (w *workspace) push(ctx context.Context, rm remote, auth transport.AuthMethod, commit plumbing.Hash, branch string) error {
	var progress bytes.Buffer
	spec := config.RefSpec(fmt.Sprintf("+%s:refs/heads/%s", commit, branch))
	err := w.repo.PushContext(ctx, &git.PushOptions{
		RemoteName: rm.Name,
		RemoteURL:  rm.URL,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       auth,
		Progress:   &progress,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	where := fmt.Sprintf("%s (%s)", rm.Name, rm.Redacted())
	server := serverMessage(progress.String())
	msg := oneLine(err.Error())
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		if auth == nil {
			return fmt.Errorf("push to %s needs credentials and none were found (%s): configure a git credential helper for %s, or use a remote on the forge's own host so its token is used", where, msg, rm.Endpoint.Host)
		}
		return fmt.Errorf("push to %s was refused (%s): give the token write access to the repository (GitHub: contents: write; GitLab: Developer role and write_repository; Gitea: write), or configure a git credential helper for %s", where, msg, rm.Endpoint.Host)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("push to %s: the repository was not found, or the credentials cannot see it: check the remote URL and the token's repository access", where)
	case ctx.Err() != nil:
		return fmt.Errorf("push to %s: %w", where, ctx.Err())
	}
	return fmt.Errorf("push of branch %s to %s rejected: %s%s", branch, where, msg, server)
}

// serverMessage keeps what the server said during a failed push (hook
// output arrives as "remote: ..." sideband lines).
func serverMessage(progress string) string {
	var lines []string
	for _, l := range strings.FieldsFunc(progress, func(r rune) bool { return r == '\n' || r == '\r' }) {
		l = oneLine(l)
		if l == "" || strings.Contains(l, "Counting objects") || strings.Contains(l, "Compressing objects") || strings.Contains(l, "Total ") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	if len(lines) == 0 {
		return ""
	}
	return "; the server said: " + strings.Join(lines, " | ")
}

// git runs the git binary in the workspace and returns its stdout; an error
// carries its stderr.
func (w *workspace) git(ctx context.Context, env []string, stdin *strings.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", w.root}, args...)...)
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := oneLine(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.String(), nil
}
