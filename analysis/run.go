package analysis

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/analysis/reassemble"
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
	res, fetched, err := RunMany(ctx, []*Workspace{w}, sources, q, deploys)
	if err != nil {
		return Result{}, fetched, err
	}
	return res[0], fetched, nil
}

// RunMany is Run for several workspaces that read the same sources (the
// folders of one editor window configured alike): each source is queried
// once and every entry feeds every workspace's analysis, so N folders cost
// the backend one query, not N.
func RunMany(ctx context.Context, wss []*Workspace, sources []telemetry.Source, q telemetry.Query, deploys []incident.Deploy) ([]Result, []SourceResult, error) {
	as := make([]*Analyzer, len(wss))
	for i, w := range wss {
		cfg := Config{Root: w.Root, Mapper: w.Mapper, Deploys: append([]incident.Deploy(nil), deploys...), Enrichers: w.Enrichers}
		if w.Repo != nil {
			cfg.Repo = w.Repo
		}
		as[i] = New(cfg)
		if runtime.GOMAXPROCS(0) > 1 {
			// A batch: traces are parsed and grouped on a core of their
			// own while the next entries are read.
			as[i].reasm.Pipeline()
			defer as[i].reasm.Wait()
		}
	}
	var versions telemetry.VersionWatch
	var results []SourceResult
	g := runGate{as: as, versions: &versions}
	for _, a := range as {
		g.starts = append(g.starts, a.reasm.Starts())
	}
	if q.Gate == nil {
		q.Gate = g
	}
	for _, s := range sources {
		st, err := s.Fetch(ctx, q, func(e incident.Event) error {
			g.feed(e, false)
			return nil
		})
		if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && ctx.Err() != nil {
			return nil, results, fmt.Errorf("fetch %s: %w", s.Name(), err)
		}
		results = append(results, SourceResult{Name: s.Name(), Stats: st, Err: err})
	}
	out := make([]Result, len(as))
	for i, a := range as {
		// A new version label in the logs is a deploy even when no deploy
		// event says so.
		a.AddDeploys(versions.Deploys())
		res, err := a.Incidents(ctx)
		if err != nil {
			return nil, results, err
		}
		for _, r := range results {
			if r.Err != nil {
				res.Stats.Problems = append(res.Stats.Problems, fmt.Sprintf("%s: %v", r.Name, r.Err))
			}
			if r.Stats.Hint != "" {
				res.Stats.Problems = append(res.Stats.Problems, fmt.Sprintf("%s: %s", r.Name, r.Stats.Hint))
			}
			if r.Stats.Malformed > 0 {
				res.Stats.Problems = append(res.Stats.Problems, fmt.Sprintf("%s: %d malformed entries skipped", r.Name, r.Stats.Malformed))
			}
		}
		if res.Empty == "" && len(res.Incidents) == 0 && len(sources) == 0 {
			res.Empty = "no source configured: add --logs FILE or a sources entry in .faultline.yaml"
		}
		out[i] = res
	}
	return out, results, nil
}

// runGate lets a source skip the entries no Analyzer of a run needs; the
// ones it skips still count, and still tell the VersionWatch which version
// was running when. It refuses escaped lines before they are decoded.
type runGate struct {
	as []*Analyzer
	// starts are the Analyzers' reassemble.Starts: Candidate and
	// CandidateEscaped run on a source's decoding goroutines and read
	// these, never an Analyzer, whose fields the consuming goroutine writes
	// for every entry (see reassemble.Starts).
	starts   []*reassemble.Starts
	versions *telemetry.VersionWatch
}

var (
	_ telemetry.EscapedGate   = runGate{}
	_ telemetry.BorrowingGate = runGate{}
	_ telemetry.PrefaceGate   = runGate{}
	_ telemetry.ForeignGate   = runGate{}
)

// Take feeds every Analyzer an entry whose line is borrowed, each copying
// what it keeps of the line. Every Analyzer's Starts refused the line
// (Candidate is true when one does not), so none asks whether it starts
// a trace.
func (g runGate) Take(e incident.Event) { g.feed(e, true) }

// feed gives an entry to the VersionWatch and every Analyzer: RunMany's fn,
// and Take when the line is borrowed.
func (g runGate) feed(e incident.Event, borrowed bool) {
	g.versions.Add(e)
	for _, a := range g.as {
		if borrowed {
			a.addRefused(e)
		} else {
			a.Add(e)
		}
	}
}

// TakeForeign takes an entry that every Analyzer would only count (see
// reassemble.Reassembler.Foreign) without decoding its line, as Take
// would have.
func (g runGate) TakeForeign(labels map[string]string, t time.Time, raw string) bool {
	for _, a := range g.as {
		if !a.reasm.Foreign(labels, t, raw) {
			return false
		}
	}
	g.versions.AddAt(labels, t)
	for _, a := range g.as {
		a.events++
		a.reasm.AddForeign(labels, t)
	}
	return true
}

func (g runGate) Candidate(line string) bool {
	for _, s := range g.starts {
		if s.Candidate(line) {
			return true
		}
	}
	return false
}

func (g runGate) CandidateEscaped(raw string) bool {
	for _, s := range g.starts {
		if s.CandidateEscaped(raw) {
			return true
		}
	}
	return false
}

// NeedsPreface: the line before matters only to a line that opens a
// block, and a line every Analyzer's open block continues opens none. A
// crash storm's goroutine headers (which may take the logged panic value
// before them, see stack.OptionallyPrefaced) come mid-trace: looking back
// for their line before was 4% of its CPU.
func (g runGate) NeedsPreface(labels map[string]string, t time.Time, line string) bool {
	wanted := false
	for _, s := range g.starts {
		if s.NeedsPreface(line) {
			wanted = true
			break
		}
	}
	if !wanted {
		return false
	}
	for _, a := range g.as {
		if !a.reasm.Continues(labels, t, line) {
			return true
		}
	}
	return false
}

func (g runGate) Skip(labels map[string]string, t time.Time) bool {
	for _, a := range g.as {
		if !a.reasm.Idle(labels) {
			return false
		}
	}
	g.versions.AddAt(labels, t)
	for _, a := range g.as {
		a.skipped()
	}
	return true
}
