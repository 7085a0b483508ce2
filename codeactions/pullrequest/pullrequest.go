// Package pullrequest turns an incident's fix into a pull request: a commit
// on branch faultline/<incident id> on top of the workspace's HEAD, pushed
// with go-git, and a change request that explains the incident, opened on
// the forge that hosts the git remote: a GitHub pull request (go-github), a
// GitLab merge request (gitlab.com/gitlab-org/api/client-go) or a Gitea or
// Forgejo pull request (code.gitea.io/sdk/gitea). The forge follows from
// the remote URL's host, or from Options.Kind; each sits behind the small
// forge interface, and the commit, the push and the body are shared.
//
// The user's working tree, index and current branch are never touched: the
// fix is applied to HEAD's tree through a throw-away index, the commit is
// written straight into the object database and pushed by hash, and no local
// branch is created. Opening a pull request twice for one incident returns
// the first one, found by its branch.
//
// Log-derived text (error messages, evidence) is untrusted: it is escaped or
// fenced in the body, and stripped of control characters. A forge's token is
// sent only to that forge's host, and never appears in errors, progress
// messages or the body.
package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/faultline-dev/faultline/incident"
)

// BranchPrefix starts the name of every branch Open pushes.
const BranchPrefix = "faultline/"

// Options configures a Client. Zero values mean github.com, tokens from the
// environment and the repository named by the remote URL. The forge (GitHub,
// GitLab or Gitea/Forgejo) is chosen per Open from the remote's host unless
// Kind names it.
type Options struct {
	// Kind forces the forge: "github", "gitlab" or "gitea" ("forgejo" is
	// taken as "gitea"). Empty: github.com or BaseURL's host is GitHub,
	// gitlab.com or GitLabURL's host is GitLab, codeberg.org or GiteaURL's
	// host is Gitea; a remote on another host (or a file:// remote) goes to
	// the one forge configured, GitHub when none is.
	Kind string
	// BaseURL is the REST API root of a GitHub Enterprise server, e.g.
	// https://github.example.com/api/v3/. Empty for github.com.
	BaseURL string
	// Token authenticates the REST calls and https pushes to the GitHub
	// host. Empty: read from the environment.
	Token string
	// GitLabURL is the web root of a self-managed GitLab, e.g.
	// https://gitlab.example.com (the API is under /api/v4). Empty:
	// gitlab.com, or the remote's host when Kind is "gitlab".
	GitLabURL string
	// GitLabToken authenticates GitLab API calls and https pushes to the
	// GitLab host (as user "oauth2"). Empty: FAULTLINE_GITLAB_TOKEN or
	// GITLAB_TOKEN.
	GitLabToken string
	// GiteaURL is the web root of a Gitea or Forgejo server, e.g.
	// https://git.example.com (the API is under /api/v1). Empty:
	// codeberg.org, or the remote's host when Kind is "gitea".
	GiteaURL string
	// GiteaToken authenticates Gitea API calls and https pushes to the
	// Gitea host (as the password). Empty: FAULTLINE_GITEA_TOKEN,
	// GITEA_TOKEN or FORGEJO_TOKEN.
	GiteaToken string
	// HTTPClient carries the REST calls (proxies, custom CAs); nil: default.
	HTTPClient *http.Client
	// Owner and Repo name the repository when the remote URL does not (a
	// mirror, a file:// remote in tests). Both or neither. On GitLab, Owner
	// may be a group path (group/subgroup).
	Owner, Repo string
}

// Request asks for a pull request carrying one fix.
type Request struct {
	Root     string            // the workspace: any directory inside a git repository
	Incident incident.Incident // what the pull request explains
	Fix      incident.Fix      // Fix.Diff is committed; it must apply at HEAD
	Remote   string            // git remote to push to; default "origin"
	// Base is the branch to merge into; default: the repository's default
	// branch on the forge, else the remote's HEAD branch, else the current one.
	Base string
	// IncidentURL links back to the incident; only http(s) URLs are used.
	IncidentURL string
}

// Result is the pull request (GitLab: merge request) Open created or found.
type Result struct {
	URL      string
	Number   int // GitHub and Gitea: #number; GitLab: the merge request's !iid
	Branch   string
	Existing bool   // true when an open pull request for the incident already existed
	Forge    string // KindGitHub, KindGitLab or KindGitea
}

// Client opens pull requests on GitHub, GitLab or Gitea.
type Client struct {
	gh               *github.Client
	token            string
	githubHost       string // host git traffic of the GitHub instance goes to
	githubConfigured bool   // a GitHub base URL was given
	kind             string
	gitlabURL        string
	gitlabToken      string
	giteaURL         string
	giteaToken       string
	httpClient       *http.Client
	owner            string
	repo             string
	now              func() time.Time
}

// New returns a Client. It does no I/O; a missing token is reported by
// Open, when the user asks for a pull request.
func New(opt Options) (*Client, error) {
	if (opt.Owner == "") != (opt.Repo == "") {
		return nil, fmt.Errorf("repository override needs both owner and repo, got %q/%q", opt.Owner, opt.Repo)
	}
	kind := strings.ToLower(strings.TrimSpace(opt.Kind))
	switch kind {
	case "", KindGitHub, KindGitLab, KindGitea:
	case "forgejo":
		kind = KindGitea
	default:
		return nil, fmt.Errorf("unknown forge kind %q: use github, gitlab or gitea (also for Forgejo)", opt.Kind)
	}
	host, err := apiHost(opt.BaseURL)
	if err != nil {
		return nil, err
	}
	gitlabURL, err := checkBase("GitLab", opt.GitLabURL)
	if err != nil {
		return nil, err
	}
	giteaURL, err := checkBase("Gitea", opt.GiteaURL)
	if err != nil {
		return nil, err
	}
	token := firstNonEmpty(opt.Token, tokenFromEnv(tokenEnv))
	gh := github.NewClient(opt.HTTPClient)
	if token != "" {
		gh = gh.WithAuthToken(token)
	}
	if opt.BaseURL != "" && host != "github.com" {
		if gh, err = gh.WithEnterpriseURLs(opt.BaseURL, opt.BaseURL); err != nil {
			return nil, fmt.Errorf("GitHub base URL %q: %w", redactURL(opt.BaseURL), err)
		}
	}
	return &Client{
		gh: gh, token: token, githubHost: host, githubConfigured: opt.BaseURL != "",
		kind: kind, gitlabURL: gitlabURL, giteaURL: giteaURL, httpClient: opt.HTTPClient,
		gitlabToken: firstNonEmpty(opt.GitLabToken, tokenFromEnv(gitlabTokenEnv)),
		giteaToken:  firstNonEmpty(opt.GiteaToken, tokenFromEnv(giteaTokenEnv)),
		owner:       opt.Owner, repo: opt.Repo, now: time.Now,
	}, nil
}

// Open pushes the fix as branch faultline/<incident id> and opens a pull
// request (on GitLab a merge request) for it, or returns the open one that
// already exists for the incident (then nothing is pushed). progress, when
// not nil, receives one short message per step.
func (c *Client) Open(ctx context.Context, req Request, progress func(msg string)) (res Result, err error) {
	defer func() { err = c.redact(err) }()
	say := func(format string, args ...any) {
		if progress != nil {
			progress(c.redact(fmt.Errorf(format, args...)).Error())
		}
	}
	if err := checkRequest(req); err != nil {
		return Result{}, err
	}
	if req.Remote == "" {
		req.Remote = "origin"
	}
	ws, err := openWorkspace(req.Root)
	if err != nil {
		return Result{}, err
	}
	rm, err := ws.remote(req.Remote, []string{c.githubHost})
	if err != nil {
		return Result{}, err
	}
	st, path, err := c.site(rm)
	if err != nil {
		return Result{}, err
	}
	branch := BranchPrefix + refSafe(req.Incident.ID)
	res = Result{Branch: branch, Forge: st.kind}

	say("Checking %s on %s", path, st.name)
	info, err := st.api.repo(ctx, path)
	if err != nil {
		return res, err
	}
	base := info.defaultBranch
	if req.Base != "" {
		base = req.Base
	}
	if base == "" {
		if base = ws.fallbackBase(req.Remote); base == "" {
			return res, fmt.Errorf("cannot tell which branch the %s should target: HEAD is detached and %s named no default branch; pass a base branch", st.noun, st.name)
		}
	}

	if ch, err := st.api.findOpen(ctx, info, branch); err != nil {
		return res, err
	} else if ch != nil {
		say("%s %s already exists for this incident", capitalize(st.noun), st.ref(ch.number))
		return Result{URL: ch.url, Number: ch.number, Branch: branch, Existing: true, Forge: st.kind}, nil
	}

	if err := c.pushFix(ctx, ws, rm, st, req, branch, say); err != nil {
		return res, err
	}

	say("Opening the %s against %s", st.noun, base)
	ch, existing, err := st.api.create(ctx, info, newChange{
		title: subject(req.Incident),
		head:  branch,
		base:  base,
		body:  changeBody(st.noun, req.Incident, req.Fix, req.IncidentURL),
	})
	if err != nil {
		return res, err
	}
	return Result{URL: ch.url, Number: ch.number, Branch: branch, Existing: existing, Forge: st.kind}, nil
}

// pushFix commits the fix on top of HEAD and pushes it as branch.
func (c *Client) pushFix(ctx context.Context, ws *workspace, rm remote, st *site, req Request, branch string, say func(string, ...any)) error {
	say("Committing the fix on %s", branch)
	tree, err := ws.fixTree(ctx, req.Fix.Diff)
	if err != nil {
		return err
	}
	commit, err := ws.commit(tree, commitMessage(req.Incident, req.Fix), c.now())
	if err != nil {
		return err
	}
	auth, err := pushAuth(ctx, ws.root, rm, st)
	if err != nil {
		return err
	}
	say("Pushing %s to %s", branch, rm.Name)
	return ws.push(ctx, rm, auth, commit, branch)
}

// ref is how the forge writes a change's number: !12 on GitLab, #12 elsewhere.
func (s *site) ref(n int) string {
	if s.kind == KindGitLab {
		return fmt.Sprintf("!%d", n)
	}
	return fmt.Sprintf("#%d", n)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func (c *Client) httpClientOrDefault() *http.Client {
	if c.httpClient != nil {
		return c.httpClient
	}
	return &http.Client{Timeout: 60 * time.Second}
}

func checkRequest(req Request) error {
	switch {
	case req.Root == "":
		return errors.New("open pull request: no workspace root given")
	case refSafe(req.Incident.ID) == "":
		return errors.New("open pull request: the incident has no id")
	case strings.TrimSpace(req.Fix.Diff) == "":
		return fmt.Errorf("open pull request for incident %s: the fix has no diff", req.Incident.ID)
	}
	return nil
}

var unsafeRef = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// refSafe turns an incident id into a valid, bounded branch name component.
func refSafe(id string) string {
	s := strings.Trim(unsafeRef.ReplaceAllString(id, "-"), ".-")
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	s = strings.TrimSuffix(s, ".lock")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], ".-")
	}
	return s
}

// redact removes every token the Client holds from an error, whatever
// produced it.
func (c *Client) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, tok := range []string{c.token, c.gitlabToken, c.giteaToken} {
		if tok != "" && strings.Contains(msg, tok) {
			msg, changed = strings.ReplaceAll(msg, tok, "[token]"), true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}
