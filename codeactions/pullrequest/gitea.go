package pullrequest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"code.gitea.io/sdk/gitea"
)

// giteaTokenEnv lists, in order, where a Gitea or Forgejo token is read
// from.
var giteaTokenEnv = []string{"FAULTLINE_GITEA_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN"}

// maxPullPages bounds the pages of open pull requests findOpen reads: the
// Gitea API cannot filter them by head branch.
const maxPullPages = 20

// giteaForge opens pull requests through the Gitea SDK, which also
// serves Forgejo. The SDK binds a context to a client and asks the server
// for its version when a client is made, so findOpen and create each make
// a client for their context, and the version read first is reused.
type giteaForge struct {
	base, token string
	http        *http.Client
	host        string

	mu      sync.Mutex
	version string // server version once read
}

// giteaSite builds the Gitea forge for a remote: the configured URL,
// codeberg.org, or the remote's own host.
func (c *Client) giteaSite(rm remote) (*site, string, error) {
	base, err := forgeBase(c.giteaURL, rm)
	if err != nil {
		return nil, "", fmt.Errorf("%w: set the Gitea URL (gitea.url: https://gitea.example.com)", err)
	}
	if c.giteaToken == "" {
		return nil, "", fmt.Errorf("no Gitea token: set GITEA_TOKEN (or FORGEJO_TOKEN) in the environment the editor starts faultline from, to an access token for %s with the write:repository scope", hostOf(base))
	}
	f := &giteaForge{base: base, token: c.giteaToken, http: c.httpClientOrDefault(), host: hostOf(base)}
	// Gitea accepts a token as the password of any user name on https.
	s := &site{kind: KindGitea, name: "Gitea", noun: "pull request", host: f.host,
		pushUser: "faultline", token: c.giteaToken, api: f}
	path := repoPathOn(rm, base, 2, 2)
	if c.owner != "" {
		path = c.owner + "/" + c.repo
	}
	if path == "" {
		return nil, "", fmt.Errorf("git remote %q (%s) names no Gitea repository on %s: point the remote at %s/OWNER/REPO.git, or name the repository in the config (repo: OWNER/REPO)", rm.Name, rm.Redacted(), f.host, base)
	}
	return s, path, nil
}

// client makes an SDK client bound to ctx. The first call reads the
// server's version (GET /api/v1/version), which also tells a URL that is
// not Gitea from one that is; later clients reuse it.
func (f *giteaForge) client(ctx context.Context) (*gitea.Client, error) {
	opts := []gitea.ClientOption{gitea.SetContext(ctx), gitea.SetToken(f.token), gitea.SetHTTPClient(f.http)}
	f.mu.Lock()
	v := f.version
	f.mu.Unlock()
	if v == "" {
		probe, err := gitea.NewClient(f.base, append(opts, gitea.SetGiteaVersion(""))...)
		if err == nil {
			v, _, err = probe.ServerVersion()
		}
		if err != nil || v == "" {
			why := "no version"
			if err != nil {
				why = oneLine(err.Error())
			}
			return nil, fmt.Errorf("connect to Gitea at %s: GET /api/v1/version: %s (is the Gitea URL right, and the server reachable?)", f.base, why)
		}
		f.mu.Lock()
		f.version = v
		f.mu.Unlock()
	}
	c, err := gitea.NewClient(f.base, append(opts, gitea.SetGiteaVersion(v))...)
	if err != nil {
		// A version the SDK cannot parse (a fork's scheme): assume a
		// current server rather than refuse it.
		c, err = gitea.NewClient(f.base, append(opts, gitea.SetGiteaVersion(""))...)
	}
	if err != nil {
		return nil, fmt.Errorf("Gitea client for %s: %w", f.base, err)
	}
	return c, nil
}

// repo reads the repository: it checks that the token can see it and
// returns its default branch.
func (f *giteaForge) repo(ctx context.Context, path string) (repoInfo, error) {
	c, err := f.client(ctx)
	if err != nil {
		return repoInfo{}, err
	}
	owner, name, _ := strings.Cut(path, "/")
	r, resp, err := c.GetRepo(owner, name)
	if err != nil {
		if status(resp) == http.StatusNotFound {
			return repoInfo{}, fmt.Errorf("read Gitea repository %s: repository not found (404) on %s: check the remote URL, and that the token's user can see the repository", path, f.host)
		}
		return repoInfo{}, f.apiError("read Gitea repository "+path, resp, err)
	}
	return repoInfo{path: path, defaultBranch: r.DefaultBranch}, nil
}

// findOpen pages through the open pull requests for the one whose head is
// branch of the repository itself (not a fork's branch of that name).
func (f *giteaForge) findOpen(ctx context.Context, r repoInfo, branch string) (*change, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	owner, name, _ := strings.Cut(r.path, "/")
	for page := 1; page <= maxPullPages; page++ {
		prs, resp, err := c.ListRepoPullRequests(owner, name, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: 50},
			State:       gitea.StateOpen,
		})
		if err != nil {
			return nil, f.apiError("list pull requests of "+r.path, resp, err)
		}
		for _, pr := range prs {
			if pr.Head == nil || pr.Head.Ref != branch || fromFork(pr) {
				continue
			}
			return &change{number: int(pr.Index), url: pr.HTMLURL}, nil
		}
		if len(prs) == 0 || resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

// fromFork reports whether a pull request's head lives in another
// repository than its base.
func fromFork(pr *gitea.PullRequest) bool {
	if pr.Head.RepoID != 0 && pr.Base != nil && pr.Base.RepoID != 0 {
		return pr.Head.RepoID != pr.Base.RepoID
	}
	return false
}

// create opens the pull request. Gitea answers 409 when one is open for
// the same head and base (a concurrent Open): that one is returned.
func (f *giteaForge) create(ctx context.Context, r repoInfo, nc newChange) (*change, bool, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, false, err
	}
	owner, name, _ := strings.Cut(r.path, "/")
	pr, resp, err := c.CreatePullRequest(owner, name, gitea.CreatePullRequestOption{
		Head: nc.head, Base: nc.base, Title: nc.title, Body: nc.body,
	})
	if err == nil {
		return &change{number: int(pr.Index), url: pr.HTMLURL}, false, nil
	}
	if status(resp) == http.StatusConflict {
		if existing, ferr := f.findOpen(ctx, r, nc.head); ferr == nil && existing != nil {
			return existing, true, nil
		}
	}
	return nil, false, f.apiError(fmt.Sprintf("open pull request %s → %s on %s", nc.head, nc.base, r.path), resp, err)
}

// apiError turns an SDK error into a message that says what to fix.
func (f *giteaForge) apiError(doing string, resp *gitea.Response, err error) error {
	detail := oneLine(err.Error())
	switch status(resp) {
	case 0:
		return fmt.Errorf("%s: %s (is %s reachable?)", doing, detail, f.host)
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: Gitea rejected the token (401 %s): set GITEA_TOKEN to a valid token for %s", doing, detail, f.host)
	case http.StatusForbidden:
		return fmt.Errorf("%s: forbidden (403 %s): the token needs the write:repository scope and write access to the repository", doing, detail)
	case http.StatusNotFound:
		return fmt.Errorf("%s: not found (404 %s): check the repository name and that the token can see it", doing, detail)
	}
	return fmt.Errorf("%s: Gitea answered %d: %s", doing, status(resp), detail)
}

func status(resp *gitea.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}
