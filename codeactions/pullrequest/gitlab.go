package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// gitlabTokenEnv lists, in order, where a GitLab token is read from.
var gitlabTokenEnv = []string{"FAULTLINE_GITLAB_TOKEN", "GITLAB_TOKEN"}

// gitlabForge opens merge requests through GitLab's REST API (v4).
type gitlabForge struct {
	gl   *gitlab.Client
	host string // host of the instance, for messages
}

// gitlabSite builds the GitLab forge for a remote: gitlab.com, the
// configured self-managed URL, or the remote's own host.
func (c *Client) gitlabSite(rm remote) (*site, string, error) {
	base, err := forgeBase(c.gitlabURL, rm)
	if err != nil {
		return nil, "", fmt.Errorf("%w: set the GitLab URL (gitlab.url: https://gitlab.example.com)", err)
	}
	if c.gitlabToken == "" {
		return nil, "", fmt.Errorf("no GitLab token: set GITLAB_TOKEN in the environment the editor starts faultline from, to a personal, group or project access token for %s with the api scope and at least the Developer role on the project", hostOf(base))
	}
	gl, err := gitlab.NewClient(c.gitlabToken,
		gitlab.WithBaseURL(base),
		gitlab.WithHTTPClient(c.httpClientOrDefault()),
		gitlab.WithCustomRetryMax(2),
		gitlab.WithURLWarningLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, "", fmt.Errorf("GitLab client for %s: %w", base, err)
	}
	s := &site{kind: KindGitLab, name: "GitLab", noun: "merge request", host: hostOf(base),
		pushUser: "oauth2", token: c.gitlabToken, api: &gitlabForge{gl: gl, host: hostOf(base)}}
	path := repoPathOn(rm, base, 2, 20)
	if c.owner != "" {
		path = c.owner + "/" + c.repo
	}
	if path == "" {
		return nil, "", fmt.Errorf("git remote %q (%s) names no GitLab project on %s: point the remote at %s/GROUP/PROJECT.git, or name the project in the config (repo: GROUP/PROJECT)", rm.Name, rm.Redacted(), s.host, base)
	}
	return s, path, nil
}

// repo reads the project (GET /projects/:id, the path URL-encoded): it
// checks that the token can see it and returns its id and default branch.
func (f *gitlabForge) repo(ctx context.Context, path string) (repoInfo, error) {
	p, _, err := f.gl.Projects.GetProject(path, nil, gitlab.WithContext(ctx))
	if err != nil {
		if errors.Is(err, gitlab.ErrNotFound) {
			return repoInfo{}, fmt.Errorf("read GitLab project %s: project not found (404) on %s: check the remote URL, and that the token's user is a member of the project (GitLab answers 404 for projects a token cannot see)", path, f.host)
		}
		return repoInfo{}, f.apiError("read GitLab project "+path, err)
	}
	return repoInfo{path: path, id: p.ID, defaultBranch: p.DefaultBranch}, nil
}

// findOpen returns the project's open merge request from branch, or nil.
// Merge requests from forks with a branch of the same name do not count.
func (f *gitlabForge) findOpen(ctx context.Context, r repoInfo, branch string) (*change, error) {
	mrs, _, err := f.gl.MergeRequests.ListProjectMergeRequests(r.path, &gitlab.ListProjectMergeRequestsOptions{
		SourceBranch: gitlab.Ptr(branch),
		State:        gitlab.Ptr("opened"),
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, f.apiError("list merge requests of "+r.path, err)
	}
	for _, mr := range mrs {
		if mr.SourceBranch != branch {
			continue
		}
		if r.id != 0 && mr.SourceProjectID != 0 && mr.SourceProjectID != r.id {
			continue
		}
		return &change{number: int(mr.IID), url: mr.WebURL}, nil
	}
	return nil, nil
}

// create opens the merge request. GitLab answers 409 when an open one
// exists for the source branch (a concurrent Open): that one is returned.
func (f *gitlabForge) create(ctx context.Context, r repoInfo, nc newChange) (*change, bool, error) {
	mr, _, err := f.gl.MergeRequests.CreateMergeRequest(r.path, &gitlab.CreateMergeRequestOptions{
		Title:        gitlab.Ptr(nc.title),
		Description:  gitlab.Ptr(nc.body),
		SourceBranch: gitlab.Ptr(nc.head),
		TargetBranch: gitlab.Ptr(nc.base),
	}, gitlab.WithContext(ctx))
	if err == nil {
		return &change{number: int(mr.IID), url: mr.WebURL}, false, nil
	}
	if gitlab.HasStatusCode(err, http.StatusConflict) {
		if existing, ferr := f.findOpen(ctx, r, nc.head); ferr == nil && existing != nil {
			return existing, true, nil
		}
	}
	return nil, false, f.apiError(fmt.Sprintf("open merge request %s → %s on %s", nc.head, nc.base, r.path), err)
}

// apiError turns a client-go error into a message that says what to fix.
func (f *gitlabForge) apiError(doing string, err error) error {
	if errors.Is(err, gitlab.ErrNotFound) {
		return fmt.Errorf("%s: not found (404): check the project path and that the token can see it", doing)
	}
	var er *gitlab.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("%s: %w (is %s reachable?)", doing, err, f.host)
	}
	detail := oneLine(er.Message)
	switch er.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: GitLab rejected the token (401 %s): set GITLAB_TOKEN to a valid, unexpired token for %s", doing, detail, f.host)
	case http.StatusForbidden:
		return fmt.Errorf("%s: forbidden (403 %s): the token needs the api scope and at least the Developer role on the project", doing, detail)
	}
	return fmt.Errorf("%s: GitLab answered %d: %s", doing, er.Response.StatusCode, detail)
}

// hostName is the remote's host without port, "" for local remotes.
func (r remote) hostName() string {
	if r.Endpoint == nil || r.Endpoint.Protocol == "file" {
		return ""
	}
	return strings.ToLower(r.Endpoint.Host)
}
