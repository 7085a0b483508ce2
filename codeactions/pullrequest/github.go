package pullrequest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// defaultBranch reads the repository from GitHub: it checks that the token
// can see it before anything is pushed, and returns its default branch.
func (c *Client) defaultBranch(ctx context.Context, owner, repo string) (string, error) {
	r, _, err := c.gh.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return "", c.apiError(fmt.Sprintf("read repository %s/%s", owner, repo), err)
	}
	return r.GetDefaultBranch(), nil
}

// findOpen returns the open pull request whose head is owner:branch, or nil.
func (c *Client) findOpen(ctx context.Context, owner, repo, branch string) (*github.PullRequest, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{
		State: "open",
		Head:  owner + ":" + branch,
	})
	if err != nil {
		return nil, c.apiError(fmt.Sprintf("list pull requests of %s/%s", owner, repo), err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == branch || pr.GetHead().GetRef() == "" {
			return pr, nil
		}
	}
	return nil, nil
}

// create opens the pull request. When GitHub answers that one already
// exists for the branch (a concurrent Open), that one is returned.
func (c *Client) create(ctx context.Context, owner, repo string, np *github.NewPullRequest) (*github.PullRequest, bool, error) {
	pr, _, err := c.gh.PullRequests.Create(ctx, owner, repo, np)
	if err == nil {
		return pr, false, nil
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
		for _, e := range er.Errors {
			if strings.Contains(strings.ToLower(e.Message), "already exists") {
				if existing, ferr := c.findOpen(ctx, owner, repo, np.GetHead()); ferr == nil && existing != nil {
					return existing, true, nil
				}
			}
		}
	}
	return nil, false, c.apiError(fmt.Sprintf("open pull request %s → %s on %s/%s", np.GetHead(), np.GetBase(), owner, repo), err)
}

// apiError turns a go-github error into a message that says what to fix.
func (c *Client) apiError(doing string, err error) error {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("%s: %w (is %s reachable?)", doing, err, c.gh.BaseURL.Host)
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
		return fmt.Errorf("%s: GitHub rejected the token (401 %s): set GITHUB_TOKEN to a valid token for %s", doing, detail, c.githubHost)
	case http.StatusForbidden:
		return fmt.Errorf("%s: forbidden (403 %s): the token needs contents: write and pull requests: write on the repository, or the rate limit was hit", doing, detail)
	case http.StatusNotFound:
		return fmt.Errorf("%s: not found (404): check the repository name, and that the token can access it (private repositories need the repo scope)", doing)
	}
	return fmt.Errorf("%s: GitHub answered %d: %s", doing, er.Response.StatusCode, detail)
}
