package pullrequest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Forge kinds, as Options.Kind and Result.Forge spell them.
const (
	KindGitHub = "github"
	KindGitLab = "gitlab"
	KindGitea  = "gitea" // Gitea and Forgejo speak one API
)

// forge is the part of a code-hosting service Open needs: read the
// repository (it must exist and the token must see it), find the open
// change request of a branch, open one. GitHub, GitLab and Gitea each
// adapt their client library to it; everything else (the commit, the push,
// the body) is shared.
type forge interface {
	repo(ctx context.Context, path string) (repoInfo, error)
	findOpen(ctx context.Context, r repoInfo, branch string) (*change, error)
	// create opens the change request; when the forge answers that one
	// already exists for the branch (a concurrent Open), it returns that
	// one and true.
	create(ctx context.Context, r repoInfo, nc newChange) (*change, bool, error)
}

// repoInfo is a repository as its forge describes it.
type repoInfo struct {
	path          string // owner/repo, or group/subgroup/project on GitLab
	id            int64  // GitLab's numeric project id; 0 elsewhere
	defaultBranch string
}

// change is a pull request or merge request.
type change struct {
	number int // the number users see: GitHub/Gitea #n, GitLab !iid
	url    string
}

// newChange is what Open asks a forge to open.
type newChange struct {
	title, body, head, base string
}

// site is the forge chosen for one Open: its API, and the facts shared
// code needs to push, speak about it and keep its token where it belongs.
type site struct {
	kind     string
	name     string // GitHub, GitLab, Gitea
	noun     string // "pull request" or "merge request"
	host     string // the git host the token was issued for
	pushUser string // user name sent with the token on https pushes
	token    string
	api      forge
}

// forgeHosts are the hosts Open recognises without being told.
var (
	gitlabHosts = []string{"gitlab.com"}
	giteaHosts  = []string{"codeberg.org"} // Forgejo's public instance
)

// chooseKind decides which forge hosts a remote: Options.Kind when set;
// else the remote host's forge (github.com or the GitHub base URL host;
// gitlab.com or the GitLab URL host; codeberg.org or the Gitea URL host);
// else the one forge that is configured, GitHub when none is. Several
// configured forges and a host none of them owns is a question only the
// user can answer.
func (c *Client) chooseKind(rm remote) (string, error) {
	if c.kind != "" {
		return c.kind, nil
	}
	host := ""
	if rm.Endpoint != nil && rm.Endpoint.Protocol != "file" {
		host = rm.Endpoint.Host
	}
	switch {
	case host != "" && hostIn(host, []string{c.githubHost}):
		return KindGitHub, nil
	case host != "" && hostIn(host, append([]string{hostOf(c.gitlabURL)}, gitlabHosts...)):
		return KindGitLab, nil
	case host != "" && hostIn(host, append([]string{hostOf(c.giteaURL)}, giteaHosts...)):
		return KindGitea, nil
	}
	var configured []string
	if c.githubConfigured {
		configured = append(configured, KindGitHub)
	}
	if c.gitlabURL != "" {
		configured = append(configured, KindGitLab)
	}
	if c.giteaURL != "" {
		configured = append(configured, KindGitea)
	}
	switch len(configured) {
	case 0:
		return KindGitHub, nil
	case 1:
		return configured[0], nil
	}
	return "", fmt.Errorf("cannot tell which forge hosts git remote %q (%s): %s are configured and none is on that host; set the forge kind (%s)",
		rm.Name, rm.Redacted(), strings.Join(configured, " and "), strings.Join(configured, ", "))
}

// site builds the forge for the remote and finds the repository path the
// remote names on it.
func (c *Client) site(rm remote) (*site, string, error) {
	kind, err := c.chooseKind(rm)
	if err != nil {
		return nil, "", err
	}
	switch kind {
	case KindGitHub:
		s := &site{kind: KindGitHub, name: "GitHub", noun: "pull request", host: c.githubHost,
			pushUser: "x-access-token", token: c.token, api: &githubForge{gh: c.gh, host: c.githubHost}}
		if s.token == "" {
			return nil, "", fmt.Errorf("no GitHub token: set GITHUB_TOKEN (or FAULTLINE_GITHUB_TOKEN) in the environment the editor starts faultline from, to a token that may push to the repository and open pull requests (contents: write, pull requests: write)")
		}
		path, err := c.githubPath(rm)
		return s, path, err
	case KindGitLab:
		return c.gitlabSite(rm)
	case KindGitea:
		return c.giteaSite(rm)
	}
	return nil, "", fmt.Errorf("unknown forge kind %q: use github, gitlab or gitea", kind)
}

// githubPath is owner/repo from Options or from a GitHub remote URL.
func (c *Client) githubPath(rm remote) (string, error) {
	owner, repo := c.owner, c.repo
	if owner == "" {
		owner, repo = rm.Owner, rm.Repo
	}
	if owner == "" {
		return "", fmt.Errorf("git remote %q (%s) is not a GitHub repository on %s: point the remote at https://%s/OWNER/REPO.git, or name the repository in the config (github.repo: OWNER/REPO, github.url for GitHub Enterprise)", rm.Name, rm.Redacted(), c.githubHost, c.githubHost)
	}
	return owner + "/" + repo, nil
}

// forgeBase is the web root of a GitLab or Gitea instance: the configured
// URL, else the well-known instance for the remote's host, else the
// remote's own scheme and host (both serve git and the API from one host).
func forgeBase(configured string, rm remote) (string, error) {
	if configured != "" {
		return configured, nil
	}
	ep := rm.Endpoint
	if ep == nil || ep.Protocol == "file" || ep.Host == "" {
		return "", fmt.Errorf("git remote %q (%s) names no host", rm.Name, rm.Redacted())
	}
	scheme := "https"
	host := ep.Host
	if ep.Protocol == "http" || ep.Protocol == "https" {
		scheme = ep.Protocol
		if ep.Port != 0 && !(ep.Protocol == "https" && ep.Port == 443) && !(ep.Protocol == "http" && ep.Port == 80) {
			host = fmt.Sprintf("%s:%d", ep.Host, ep.Port)
		}
	}
	return scheme + "://" + host, nil
}

// repoPathOn is the repository path a remote names on a forge whose web
// root is base: the URL path without base's own path (a GitLab served
// under /gitlab) and without ".git". segments bounds how many parts it
// may have (GitLab nests groups; Gitea is owner/repo).
func repoPathOn(rm remote, base string, minSeg, maxSeg int) string {
	if rm.Endpoint == nil || rm.Endpoint.Protocol == "file" {
		return ""
	}
	p := strings.Trim(rm.Endpoint.Path, "/")
	if u, err := url.Parse(base); err == nil {
		if prefix := strings.Trim(u.Path, "/"); prefix != "" {
			p = strings.TrimPrefix(strings.TrimPrefix(p, prefix), "/")
		}
	}
	p = strings.TrimSuffix(p, ".git")
	parts := strings.Split(p, "/")
	if len(parts) < minSeg || len(parts) > maxSeg {
		return ""
	}
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return ""
		}
	}
	return p
}

// checkBase rejects a forge URL that is not http(s).
func checkBase(name, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%s URL %q is not an http(s) URL like https://git.example.com", name, redactURL(raw))
	}
	u.User = nil
	return strings.TrimSuffix(u.String(), "/"), nil
}

// hostOf is the host name of a URL, "" when there is none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
