// Package correlator is the team service behind `faultline correlator`: it
// polls the telemetry backends once for everyone, runs the analysis against
// each configured repository, keeps the incidents in a store (SQLite or
// PostgreSQL) and serves them read-only over HTTP to the editors.
//
// Polling is incremental: each poll reads from the last complete window's
// end (kept in the store, minus an overlap for late entries) up to now minus
// a settle delay, so a stack trace still being written is read whole by the
// next poll rather than torn in two. Re-reading the overlap costs nothing
// in accuracy: every occurrence has a stable key and the store counts a key
// once, whichever poll, process or replica reads it.
package correlator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/telemetry"
)

// Repo is one workspace (a git checkout) incidents are mapped into.
type Repo struct {
	Name    string // shown in the API and used by its repo filter
	Root    string
	Options pathmap.Options
	// Services routes the entries of these services here. A repo with no
	// services takes every service no other repo names.
	Services []string
}

// Input is one backend. Windowed inputs (Loki) are queried for the poll
// window; the others (files) are read whole each poll, which the
// occurrence keys make idempotent.
type Input struct {
	Source   telemetry.Source
	Windowed bool
}

// Config is what a Correlator needs.
type Config struct {
	Store  store.Store
	Repos  []Repo
	Inputs []Input
	// Deploys reads the deploy events; called every poll so an updated
	// file is seen. May be nil.
	Deploys func(ctx context.Context) ([]incident.Deploy, error)
	// Selector narrows windowed inputs (a LogQL stream selector).
	Selector string
	Poll     time.Duration // default 30s
	Backfill time.Duration // first poll reaches back this far; default 24h
	Overlap  time.Duration // re-read before the cursor; default 5m
	Settle   time.Duration // leave the newest entries for the next poll; default 10s
	// Token protects the API (bearer). Empty leaves it open: the command
	// refuses to start without one.
	Token string
	// Push bounds the push endpoints (Loki push, OTLP logs).
	Push PushConfig
	Now  func() time.Time
	Logf func(format string, args ...any)
}

// Correlator polls, ingests and serves. Create it with New.
type Correlator struct {
	cfg     Config
	metrics *metrics
	push    *pusher

	pollMu     sync.Mutex // one poll at a time
	workspaces []*analysis.Workspace
	routes     map[string]int // service -> repo index
	fallback   int            // repo taking unnamed services, -1 when none

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a poll changed the store
	lastPoll time.Time
	lastErr  error
}

// cursorName names the poll cursor in the store. Every replica shares it.
const cursorName = "poll"

// New opens the workspaces and returns a Correlator.
func New(cfg Config) (*Correlator, error) {
	if cfg.Store == nil {
		return nil, errors.New("correlator: no store")
	}
	if len(cfg.Repos) == 0 {
		return nil, errors.New("correlator: no repository configured (--repo DIR)")
	}
	defaults(&cfg)
	c := &Correlator{cfg: cfg, routes: map[string]int{}, fallback: -1, changed: make(chan struct{}), metrics: newMetrics()}
	for i, r := range cfg.Repos {
		ws, err := analysis.OpenWorkspace(r.Root, r.Options)
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", r.Name, err)
		}
		if ws.RepoErr != nil {
			cfg.Logf("repository %s: %v (incidents are mapped without line drift or suspects)", r.Name, ws.RepoErr)
		}
		c.workspaces = append(c.workspaces, ws)
		for _, s := range r.Services {
			if prev, ok := c.routes[s]; ok {
				return nil, fmt.Errorf("service %s is routed to both %s and %s", s, cfg.Repos[prev].Name, r.Name)
			}
			c.routes[s] = i
		}
		if len(r.Services) == 0 {
			if c.fallback >= 0 {
				return nil, fmt.Errorf("repositories %s and %s both take every service: name the services of one", cfg.Repos[c.fallback].Name, r.Name)
			}
			c.fallback = i
		}
	}
	c.push = newPusher(c)
	return c, nil
}

func defaults(cfg *Config) {
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Backfill <= 0 {
		cfg.Backfill = 24 * time.Hour
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 5 * time.Minute
	}
	if cfg.Settle < 0 {
		cfg.Settle = 0
	} else if cfg.Settle == 0 {
		cfg.Settle = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
}

// Run polls at once and then every Poll interval until ctx ends. A failing
// poll is logged and counted; the next one retries the same window. It also
// runs the push worker: pushes are answered once Run has started.
func (c *Correlator) Run(ctx context.Context) error {
	go c.push.run(ctx)
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := c.Poll(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logf("poll: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollResult says what one poll did.
type PollResult struct {
	Window    telemetry.Query
	Entries   int
	Incidents int // incidents the analysis produced
	New       int // occurrences not stored before
	Changed   int // incidents whose stored state changed
	Problems  []string
}

// Poll reads one window from every input, analyses it and ingests the
// incidents. The cursor moves only when every input was read, so a failed
// backend's window is read again by the next poll.
func (c *Correlator) Poll(ctx context.Context) (PollResult, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	c.metrics.polls.Inc()
	res, err := c.poll(ctx)
	c.mu.Lock()
	c.lastPoll, c.lastErr = c.cfg.Now(), err
	c.mu.Unlock()
	if err != nil {
		c.metrics.pollErrors.Inc()
	}
	c.afterIngest(ctx, res)
	return res, err
}

// afterIngest wakes the long-poll readers when the store changed and
// updates the metrics; polls and push rounds share it.
func (c *Correlator) afterIngest(ctx context.Context, res PollResult) {
	if res.Changed > 0 {
		c.mu.Lock()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	c.metrics.ingested.Add(float64(res.New))
	if n, _, cerr := c.cfg.Store.Count(ctx); cerr == nil {
		c.metrics.incidents.Set(float64(n))
	}
}

func (c *Correlator) poll(ctx context.Context) (PollResult, error) {
	q, err := c.window(ctx)
	if err != nil {
		return PollResult{}, err
	}
	res := PollResult{Window: q}
	var deploys []incident.Deploy
	if c.cfg.Deploys != nil {
		deploys, err = c.cfg.Deploys(ctx)
		if err != nil {
			res.Problems = append(res.Problems, err.Error())
		}
	}
	analyzers, err := c.analyzers(deploys)
	if err != nil {
		return res, err
	}
	occ := newOccurrences()
	complete := true
	for _, in := range c.cfg.Inputs {
		iq := telemetry.Query{}
		if in.Windowed {
			iq = q
		}
		st, err := in.Source.Fetch(ctx, iq, func(e incident.Event) error {
			if a := analyzers[c.route(e.Labels[incident.LabelService])]; a != nil {
				a.Add(e)
				occ.add(e)
			}
			return nil
		})
		res.Entries += st.Entries
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("fetch %s: %w", in.Source.Name(), err)
			}
			complete = false
			res.Problems = append(res.Problems, fmt.Sprintf("%s: %v", in.Source.Name(), err))
		}
	}
	occ.flush()
	if err := c.ingest(ctx, analyzers, occ, &res); err != nil {
		return res, err
	}
	if !complete {
		return res, fmt.Errorf("poll incomplete, the window will be read again: %v", res.Problems)
	}
	if err := c.cfg.Store.SetCursor(ctx, cursorName, q.End); err != nil {
		return res, err
	}
	return res, nil
}

// window is the next poll's query: from the cursor (minus the overlap) to
// now minus the settle delay.
func (c *Correlator) window(ctx context.Context) (telemetry.Query, error) {
	end := c.cfg.Now().Add(-c.cfg.Settle)
	cursor, err := c.cfg.Store.Cursor(ctx, cursorName)
	if err != nil {
		return telemetry.Query{}, err
	}
	start := end.Add(-c.cfg.Backfill)
	if !cursor.IsZero() {
		start = cursor.Add(-c.cfg.Overlap)
	}
	if !start.Before(end) {
		start = end.Add(-c.cfg.Overlap)
	}
	return telemetry.Query{Start: start, End: end, Selector: c.cfg.Selector}, nil
}

// analyzers builds one analysis per repository for this poll. The path
// index is rebuilt so files added since the last poll are found; the git
// handle and its caches live on.
func (c *Correlator) analyzers(deploys []incident.Deploy) ([]*analysis.Analyzer, error) {
	out := make([]*analysis.Analyzer, len(c.workspaces)+1) // the last slot stays nil: unrouted
	for i, ws := range c.workspaces {
		m, err := pathmap.New(ws.Root, c.cfg.Repos[i].Options)
		if err != nil {
			return nil, fmt.Errorf("index repository %s: %w", c.cfg.Repos[i].Name, err)
		}
		ws.Mapper = m
		cfg := analysis.Config{Root: ws.Root, Mapper: m, Deploys: append([]incident.Deploy(nil), deploys...), Enrichers: ws.Enrichers}
		if ws.Repo != nil {
			cfg.Repo = ws.Repo
		}
		out[i] = analysis.New(cfg)
	}
	return out, nil
}

// route returns the index of the analyzer for a service; the extra last
// slot (nil) drops entries no repository takes.
func (c *Correlator) route(service string) int {
	if i, ok := c.routes[service]; ok {
		return i
	}
	if c.fallback >= 0 {
		return c.fallback
	}
	return len(c.workspaces)
}

func (c *Correlator) ingest(ctx context.Context, analyzers []*analysis.Analyzer, occ *occurrences, res *PollResult) error {
	for i, a := range analyzers[:len(c.workspaces)] {
		out, err := a.Incidents(ctx)
		if err != nil {
			return fmt.Errorf("analyse %s: %w", c.cfg.Repos[i].Name, err)
		}
		res.Problems = append(res.Problems, out.Stats.Problems...)
		for _, inc := range out.Incidents {
			res.Incidents++
			if err := historyEvidence(ctx, c.cfg.Store, &inc); err != nil {
				res.Problems = append(res.Problems, err.Error())
			}
			r, err := c.cfg.Store.Ingest(ctx, c.cfg.Repos[i].Name, inc, occ.byID[inc.ID])
			if err != nil {
				return err
			}
			res.New += r.New
			if r.Changed {
				res.Changed++
			}
		}
	}
	return nil
}

// status reports the last poll for /healthz.
func (c *Correlator) status() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastPoll, c.lastErr
}

// changes returns a channel closed at the next change this process makes.
func (c *Correlator) changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}
