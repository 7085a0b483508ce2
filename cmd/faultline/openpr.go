package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/faultline-dev/faultline/codeactions"
	"github.com/faultline-dev/faultline/codeactions/pullrequest"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
)

// prOpener opens pull requests for the language server. It remembers, from
// each analysis, which workspace root and configuration an incident came
// from, since the editor's command names only the incident.
type prOpener struct {
	svc *codeactions.Service

	mu    sync.Mutex
	roots map[string]prRoot // incident id -> where it was found
}

type prRoot struct {
	root string
	cfg  config.Config
}

func newPROpener(svc *codeactions.Service) *prOpener {
	return &prOpener{svc: svc, roots: map[string]prRoot{}}
}

// remember records the incidents of one analysis of root.
func (o *prOpener) remember(root string, cfg config.Config, incs []incident.Incident) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, inc := range incs {
		o.roots[inc.ID] = prRoot{root, cfg}
	}
}

// open computes the incident's preferred validated fix against the files in
// the workspace and opens (or finds) its pull request.
func (o *prOpener) open(ctx context.Context, inc incident.Incident) (string, error) {
	o.mu.Lock()
	where, ok := o.roots[inc.ID]
	o.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("incident %s is not in any analysed workspace; run Faultline: Refresh", inc.ID)
	}
	if rc := inc.RootCause; rc != nil && !rc.Fixable {
		return "", fmt.Errorf("incident %s is not fixable by code (%s): no pull request", inc.ID, rc.Summary)
	}
	props, err := o.svc.Propose(ctx, where.root, inc, nil)
	if err != nil {
		return "", fmt.Errorf("compute the fix for %s: %w", inc.ID, err)
	}
	if len(props) == 0 {
		return "", fmt.Errorf("no validated fix for incident %s: nothing to open a pull request with", inc.ID)
	}
	opt := pullrequest.Options{
		Kind:      where.cfg.Forge,
		BaseURL:   where.cfg.GitHub.BaseURL,
		GitLabURL: where.cfg.GitLab.URL,
		GiteaURL:  where.cfg.Gitea.URL,
	}
	if owner, repo, ok := strings.Cut(where.cfg.GitHub.Repo, "/"); ok {
		opt.Owner, opt.Repo = owner, repo
	}
	c, err := pullrequest.New(opt)
	if err != nil {
		return "", err
	}
	res, err := c.Open(ctx, pullrequest.Request{Root: where.root, Incident: inc, Fix: props[0].Fix()}, nil)
	if err != nil {
		return "", err
	}
	return res.URL, nil
}
