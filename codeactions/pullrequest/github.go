package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// githubForge opens pull requests through go-github.
type githubForge struct {
	gh   *github.Client
	host string // git host of the instance, for messages
}

// repo reads the repository from GitHub: it checks that the token can see
// it before anything is pushed, and returns its default branch.
func (f *githubForge) repo(ctx context.Context, path string) (repoInfo, error) {
	owner, name, _ := strings.Cut(path, "/")
	r, _, err := f.gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return repoInfo{}, f.apiError(fmt.Sprintf("read repository %s", path), err)
	}
	return repoInfo{path: path, defaultBranch: r.GetDefaultBranch()}, nil
}

// findOpen returns the open pull request whose head is owner:branch, or nil.
func (f *githubForge) findOpen(ctx context.Context, r repoInfo, branch string) (*change, error) {
	owner, name, _ := strings.Cut(r.path, "/")
	prs, _, err := f.gh.PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{
		State: "open",
		Head:  owner + ":" + branch,
	})
	if err != nil {
		return nil, f.apiError(fmt.Sprintf("list pull requests of %s", r.path), err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == branch || pr.GetHead().GetRef() == "" {
			return &change{number: pr.GetNumber(), url: pr.GetHTMLURL()}, nil
		}
	}
	return nil, nil
}

// create opens the pull request. When GitHub answers that one already
// exists for the branch (a concurrent Open), that one is returned.
func (f *githubForge) create(ctx context.Context, r repoInfo, nc newChange) (*change, bool, error) {
	owner, name, _ := strings.Cut(r.path, "/")
	pr, _, err := f.gh.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String(nc.title),
		Head:  github.String(nc.head),
		Base:  github.String(nc.base),
		Body:  github.String(nc.body),
	})
	if err == nil {
		return &change{number: pr.GetNumber(), url: pr.GetHTMLURL()}, false, nil
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
		for _, e := range er.Errors {
			if strings.Contains(strings.ToLower(e.Message), "already exists") {
				if existing, ferr := f.findOpen(ctx, r, nc.head); ferr == nil && existing != nil {
					return existing, true, nil
				}
			}
		}
	}
	return nil, false, f.apiError(fmt.Sprintf("open pull request %s → %s on %s", nc.head, nc.base, r.path), err)
}

// apiError turns a go-github error into a message that says what to fix.
func (f *githubForge) apiError(doing string, err error) error {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("%s: %w (is %s reachable?)", doing, err, f.gh.BaseURL.Host)
	}
	detail := er.Message
	for _, e := range er.Errors {
		if e.Message != "" {
			detail += "; " + e.Message
		} else if e.Code != "" {
			detail += fmt.Sprintf("; %s %s %s", e.Resource, e.Field, e.Code)
		}
	}
	detail = oneLine(detail)
	switch er.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: GitHub rejected the token (401 %s): set GITHUB_TOKEN to a valid token for %s", doing, detail, f.host)
	case http.StatusForbidden:
		return fmt.Errorf("%s: forbidden (403 %s): the token needs contents: write and pull requests: write on the repository, or the rate limit was hit", doing, detail)
	case http.StatusNotFound:
		return fmt.Errorf("%s: not found (404): check the repository name, and that the token can access it (private repositories need the repo scope)", doing)
	}
	return fmt.Errorf("%s: GitHub answered %d: %s", doing, er.Response.StatusCode, detail)
}
