// Package pullrequest turns an incident's fix into a GitHub pull request:
// a commit on branch faultline/<incident id> on top of the workspace's HEAD,
// pushed with go-git, and a pull request opened with go-github that explains
// the incident.
//
// The user's working tree, index and current branch are never touched: the
// fix is applied to HEAD's tree through a throw-away index, the commit is
// written straight into the object database and pushed by hash, and no local
// branch is created. Opening a pull request twice for one incident returns
// the first one.
//
// Log-derived text (error messages, evidence) is untrusted: it is escaped or
// fenced in the pull-request body, and stripped of control characters. The
// token never appears in errors, progress messages or the body.
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

// Options configures a Client. Zero values mean github.com, the token from
// the environment (FAULTLINE_GITHUB_TOKEN, GITHUB_TOKEN, GH_TOKEN) and the
// repository named by the remote URL.
type Options struct {
	// BaseURL is the REST API root of a GitHub Enterprise server, e.g.
	// https://github.example.com/api/v3/. Empty for github.com.
	BaseURL string
	// Token authenticates the REST calls and https pushes to the GitHub
	// host. Empty: read from the environment.
	Token string
	// HTTPClient carries the REST calls (proxies, custom CAs); nil: default.
	HTTPClient *http.Client
	// Owner and Repo name the GitHub repository when the remote URL does
	// not (a mirror, a file:// remote in tests). Both or neither.
	Owner, Repo string
}

// Request asks for a pull request carrying one fix.
type Request struct {
	Root     string            // the workspace: any directory inside a git repository
	Incident incident.Incident // what the pull request explains
	Fix      incident.Fix      // Fix.Diff is committed; it must apply at HEAD
	Remote   string            // git remote to push to; default "origin"
	// Base is the branch to merge into; default: the repository's default
	// branch on GitHub, else the remote's HEAD branch, else the current one.
	Base string
	// IncidentURL links back to the incident; only http(s) URLs are used.
	IncidentURL string
}

// Result is the pull request Open created or found.
type Result struct {
	URL      string
	Number   int
	Branch   string
	Existing bool // true when an open pull request for the incident already existed
}

// Client opens pull requests on one GitHub instance.
type Client struct {
	gh         *github.Client
	token      string
	githubHost string // host git traffic of this instance goes to
	owner      string
	repo       string
	now        func() time.Time
}

// New returns a Client. It does no I/O; a missing token is reported by
// Open, when the user asks for a pull request.
func New(opt Options) (*Client, error) {
	if (opt.Owner == "") != (opt.Repo == "") {
		return nil, fmt.Errorf("GitHub repository override needs both owner and repo, got %q/%q", opt.Owner, opt.Repo)
	}
	host, err := apiHost(opt.BaseURL)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(opt.Token)
	if token == "" {
		token = tokenFromEnv()
	}
	gh := github.NewClient(opt.HTTPClient)
	if token != "" {
		gh = gh.WithAuthToken(token)
	}
	if opt.BaseURL != "" && host != "github.com" {
		if gh, err = gh.WithEnterpriseURLs(opt.BaseURL, opt.BaseURL); err != nil {
			return nil, fmt.Errorf("GitHub base URL %q: %w", redactURL(opt.BaseURL), err)
		}
	}
	return &Client{gh: gh, token: token, githubHost: host, owner: opt.Owner, repo: opt.Repo, now: time.Now}, nil
}

// Open pushes the fix as branch faultline/<incident id> and opens a pull
// request for it, or returns the open pull request that already exists for
// the incident (then nothing is pushed). progress, when not nil, receives
// one short message per step.
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
	if c.token == "" {
		return Result{}, fmt.Errorf("no GitHub token: set GITHUB_TOKEN (or FAULTLINE_GITHUB_TOKEN) in the environment the editor starts faultline from, to a token that may push to the repository and open pull requests (contents: write, pull requests: write)")
	}
	ws, err := openWorkspace(req.Root)
	if err != nil {
		return Result{}, err
	}
	rm, owner, repo, err := c.target(ws, req.Remote)
	if err != nil {
		return Result{}, err
	}
	branch := BranchPrefix + refSafe(req.Incident.ID)
	res.Branch = branch

	say("Checking %s/%s on GitHub", owner, repo)
	base, err := c.defaultBranch(ctx, owner, repo)
	if err != nil {
		return res, err
	}
	if req.Base != "" {
		base = req.Base
	}
	if base == "" {
		if base = ws.fallbackBase(req.Remote); base == "" {
			return res, fmt.Errorf("cannot tell which branch the pull request should target: HEAD is detached and GitHub named no default branch; pass a base branch")
		}
	}

	if pr, err := c.findOpen(ctx, owner, repo, branch); err != nil {
		return res, err
	} else if pr != nil {
		say("Pull request #%d already exists for this incident", pr.GetNumber())
		return Result{URL: pr.GetHTMLURL(), Number: pr.GetNumber(), Branch: branch, Existing: true}, nil
	}

	if err := c.pushFix(ctx, ws, rm, req, branch, say); err != nil {
		return res, err
	}

	say("Opening the pull request against %s", base)
	pr, existing, err := c.create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String(subject(req.Incident)),
		Head:  github.String(branch),
		Base:  github.String(base),
		Body:  github.String(prBody(req.Incident, req.Fix, req.IncidentURL)),
	})
	if err != nil {
		return res, err
	}
	return Result{URL: pr.GetHTMLURL(), Number: pr.GetNumber(), Branch: branch, Existing: existing}, nil
}

// pushFix commits the fix on top of HEAD and pushes it as branch.
func (c *Client) pushFix(ctx context.Context, ws *workspace, rm remote, req Request, branch string, say func(string, ...any)) error {
	say("Committing the fix on %s", branch)
	tree, err := ws.fixTree(ctx, req.Fix.Diff)
	if err != nil {
		return err
	}
	commit, err := ws.commit(tree, commitMessage(req.Incident, req.Fix), c.now())
	if err != nil {
		return err
	}
	auth, err := pushAuth(ctx, ws.root, rm, c.token, c.githubHost)
	if err != nil {
		return err
	}
	say("Pushing %s to %s", branch, rm.Name)
	return ws.push(ctx, rm, auth, commit, branch)
}

// target resolves the remote to push to and the GitHub repository it
// names (or the one Options named).
func (c *Client) target(ws *workspace, remoteName string) (rm remote, owner, repo string, err error) {
	rm, err = ws.remote(remoteName, []string{c.githubHost})
	if err != nil {
		return rm, "", "", err
	}
	owner, repo = c.owner, c.repo
	if owner == "" {
		owner, repo = rm.Owner, rm.Repo
	}
	if owner == "" {
		return rm, "", "", fmt.Errorf("git remote %q (%s) is not a GitHub repository on %s: point the remote at https://%s/OWNER/REPO.git, or name the repository in the config (github.repo: OWNER/REPO, github.url for GitHub Enterprise)", rm.Name, rm.Redacted(), c.githubHost, c.githubHost)
	}
	return rm, owner, repo, nil
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

// redact removes the token from an error, whatever produced it.
func (c *Client) redact(err error) error {
	if err == nil || c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.token, "[token]"))
}
