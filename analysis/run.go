package analysis

import (
	"context"
	"errors"
	"fmt"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
)

// Workspace is a repository prepared for analysis: its path index and git
// handle, built once and reused across polls.
type Workspace struct {
	Root   string
	Mapper *pathmap.Mapper
	Repo   *gitrepo.Repo // nil when Root is not in a git repository
	// RepoErr says why Repo is nil.
	RepoErr error
	// Enrichers add metric and trace evidence to every analysis.
	Enrichers []Enricher
}

// OpenWorkspace indexes root for path mapping and opens its git repository.
// A workspace that is not a git repository is not an error: incidents are
// still mapped, without line drift or suspects (RepoErr says why).
func OpenWorkspace(root string, opt pathmap.Options) (*Workspace, error) {
	m, err := pathmap.New(root, opt)
	if err != nil {
		return nil, fmt.Errorf("index workspace %s: %w", root, err)
	}
	w := &Workspace{Root: root, Mapper: m}
	r, err := gitrepo.Open(root)
	if err != nil {
		w.RepoErr = err
	} else {
		w.Repo = r
	}
	return w, nil
}

// SourceResult reports one source's fetch.
type SourceResult struct {
	Name  string
	Stats telemetry.Stats
	Err   error
}

// Run fetches every source's entries in the query window and analyses them
// against the workspace. A failing source is reported in the results and
// does not stop the others; Run fails only when ctx is cancelled.
func (w *Workspace) Run(ctx context.Context, sources []telemetry.Source, q telemetry.Query, deploys []incident.Deploy) (Result, []SourceResult, error) {
	cfg := Config{Root: w.Root, Mapper: w.Mapper, Deploys: deploys, Enrichers: w.Enrichers}
	if w.Repo != nil {
		cfg.Repo = w.Repo
	}
	a := New(cfg)
	var versions telemetry.VersionWatch
	var results []SourceResult
	for _, s := range sources {
		st, err := s.Fetch(ctx, q, func(e incident.Event) error {
			versions.Add(e)
			a.Add(e)
			return nil
		})
		if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() != nil {
			return Result{}, results, fmt.Errorf("fetch %s: %w", s.Name(), err)
		}
		results = append(results, SourceResult{Name: s.Name(), Stats: st, Err: err})
	}
	// A new version label in the logs is a deploy even when no deploy
	// event says so.
	a.AddDeploys(versions.Deploys())
	res, err := a.Incidents(ctx)
	if err != nil {
		return res, results, err
	}
	for _, r := range results {
		if r.Err != nil {
			res.Stats.Problems = append(res.Stats.Problems, fmt.Sprintf("%s: %v", r.Name, r.Err))
		}
		if r.Stats.Malformed > 0 {
			res.Stats.Problems = append(res.Stats.Problems, fmt.Sprintf("%s: %d malformed entries skipped", r.Name, r.Stats.Malformed))
		}
	}
	if res.Empty == "" && len(res.Incidents) == 0 && len(sources) == 0 {
		res.Empty = "no source configured: add --logs FILE or a sources entry in .faultline.yaml"
	}
	return res, results, nil
}
