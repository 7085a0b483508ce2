package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/noise"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/codeactions/llm"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
	"github.com/faultline-dev/faultline/telemetry"
)

// engine adapts the analysis pipeline to the language server: one analysis
// per poll and workspace root. The git handle (and its blame and line-map
// caches) lives across polls; the path index is rebuilt each poll so new
// files are seen.
type engine struct {
	labels map[string]string // labels for plain-text logs, from flags
	window time.Duration     // how far back backends are queried
	prs    *prOpener         // told where each incident was found; may be nil
	// enrichers add metric and trace evidence (--prometheus, --traces).
	enrichers []analysis.Enricher

	mu     sync.Mutex
	repos  map[string]*analysis.Workspace
	cfgs   map[string]config.Config // the configuration of each root's last analysis
	shared map[string]shared        // results computed during another root's poll
	// keyLocks serialise analyses that read the same sources.
	keyLocks map[string]*sync.Mutex
}

// llmFor returns the LLM fixer a root's configuration allows, or nil.
func (e *engine) llmFor(root string) *llm.Fixer {
	e.mu.Lock()
	cfg, ok := e.cfgs[root]
	e.mu.Unlock()
	if !ok {
		return nil
	}
	f, err := newLLMFixer(cfg.LLM)
	if err != nil {
		return nil
	}
	return f
}

func newEngine(labels map[string]string, window time.Duration) *engine {
	return &engine{labels: labels, window: window, repos: map[string]*analysis.Workspace{}, cfgs: map[string]config.Config{}, shared: map[string]shared{}, keyLocks: map[string]*sync.Mutex{}}
}

// shareWindow is how long a result computed for a folder during another
// folder's poll is served instead of querying again: the folders of one
// window poll within moments of each other.
const shareWindow = 20 * time.Second

// shared is a result computed for a root during another root's poll.
type shared struct {
	res lsp.Result
	key string
	at  time.Time
}

// Analyze implements lsp.Engine. Folders whose configuration reads the same
// sources are analysed together from one query per source: the first
// folder to poll computes the others' results too, and they are served from
// there for shareWindow.
func (e *engine) Analyze(ctx context.Context, root string, cfg config.Config) (lsp.Result, error) {
	key := e.sourcesKey(root, cfg)
	// Folders reading the same sources poll one at a time, so the second
	// finds the result the first computed for it instead of querying too.
	unlock := e.lockKey(key)
	defer unlock()
	e.mu.Lock()
	e.cfgs[root] = cfg
	if c, ok := e.shared[root]; ok && c.key == key && time.Since(c.at) < shareWindow {
		delete(e.shared, root)
		e.mu.Unlock()
		return c.res, nil
	}
	peers := map[string]config.Config{}
	for r, c := range e.cfgs {
		if r != root && key != "" {
			peers[r] = c
		}
	}
	e.mu.Unlock()
	for r, c := range peers {
		if e.sourcesKey(r, c) != key {
			delete(peers, r)
		}
	}
	roots := []string{root}
	cfgs := []config.Config{cfg}
	for r, c := range peers {
		roots, cfgs = append(roots, r), append(cfgs, c)
	}
	wss := make([]*analysis.Workspace, len(roots))
	for i, r := range roots {
		ws, err := e.workspace(r, cfgs[i])
		if err != nil {
			if i == 0 {
				return lsp.Result{}, err
			}
			roots, cfgs, wss = roots[:i], cfgs[:i], wss[:i] // analyse the peer on its own poll
			break
		}
		extra, _ := configEnrichers(cfgs[i])
		ws.Enrichers = append(append([]analysis.Enricher(nil), e.enrichers...), extra...)
		wss[i] = ws
	}
	srcs, deploys, problems := buildSources(root, cfg, e.labels)
	_, eproblems := configEnrichers(cfg)
	problems = append(problems, eproblems...)
	q := telemetry.Query{}
	if e.window > 0 {
		now := time.Now()
		q = telemetry.Query{Start: now.Add(-e.window), End: now}
	}
	results, fetched, err := analysis.RunMany(ctx, wss, srcs, q, deploys)
	if err != nil {
		return lsp.Result{}, err
	}
	now := time.Now()
	for i := 1; i < len(roots); i++ {
		r := e.finish(ctx, roots[i], cfgs[i], wss[i], results[i], srcs, fetched, problems)
		e.mu.Lock()
		e.shared[roots[i]] = shared{res: r, key: key, at: now}
		e.mu.Unlock()
	}
	return e.finish(ctx, root, cfg, wss[0], results[0], srcs, fetched, problems), nil
}

// Register records a workspace folder before its first poll (the language
// server calls it for every folder at initialize), so that the first poll
// of one folder already analyses the folders that read the same sources.
func (e *engine) Register(root string, cfg config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cfgs[root]; !ok {
		e.cfgs[root] = cfg
	}
}

// lockKey serialises the analyses of one sources key.
func (e *engine) lockKey(key string) func() {
	e.mu.Lock()
	m := e.keyLocks[key]
	if m == nil {
		m = &sync.Mutex{}
		e.keyLocks[key] = m
	}
	e.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// sourcesKey names what a root's configuration reads: its sources (paths
// resolved against the root) and deploy events. Roots with equal keys can
// share one query per source; "" means nothing to share.
func (e *engine) sourcesKey(root string, cfg config.Config) string {
	srcs, _, _ := buildSources(root, config.Config{Sources: cfg.Sources}, e.labels)
	if len(srcs) == 0 {
		return ""
	}
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name())
	}
	for _, s := range cfg.Sources {
		names = append(names, s.Selector)
	}
	deploys := ""
	if cfg.Deploys != "" {
		deploys = resolve(root, cfg.Deploys)
	}
	return strings.Join(names, "\x00") + "\x00deploys=" + deploys + "\x00gh=" + cfg.GitHub.Repo
}

// finish turns one root's analysis into the server's result: incidents from
// a correlator, the noise rules, branch_only, and the status of each source.
func (e *engine) finish(ctx context.Context, root string, cfg config.Config, ws *analysis.Workspace, res analysis.Result,
	srcs []telemetry.Source, fetched []analysis.SourceResult, problems []sourceProblem) lsp.Result {
	// A correlator delivers ready incidents, not log entries: N editors cost
	// the backends nothing and the correlator one cached read each.
	for _, src := range srcs {
		c, ok := src.(interface {
			Incidents(ctx context.Context) ([]incident.Incident, error)
		})
		if !ok {
			continue
		}
		incs, err := c.Incidents(ctx)
		if err != nil {
			problems = append(problems, sourceProblem{src.Name(), err})
			continue
		}
		res.Incidents = append(res.Incidents, incs...)
	}
	rules, rulesErr := noise.Load(root)
	var hidden []noise.Hidden
	res.Incidents, hidden = noise.Filter(res.Incidents, rules, time.Now())
	if e.prs != nil {
		e.prs.remember(root, cfg, res.Incidents)
	}
	out := lsp.Result{Incidents: res.Incidents, Empty: res.Empty}
	if rulesErr != nil {
		out.Sources = append(out.Sources, lsp.SourceStatus{Name: noise.FileName, Err: rulesErr.Error()})
	}
	if cfg.BranchOnly != "" && ws.Repo != nil {
		kept, n, err := onBranch(ctx, ws, cfg.BranchOnly, out.Incidents)
		if err != nil {
			out.Sources = append(out.Sources, lsp.SourceStatus{Name: "branch_only " + cfg.BranchOnly, Err: err.Error()})
		} else {
			out.Incidents = kept
			if n > 0 && len(kept) == 0 {
				out.Empty = fmt.Sprintf("%d incidents hidden: none is in a file this branch changed since %s (branch_only)", n, cfg.BranchOnly)
			}
		}
	}
	if s := noise.Summary(hidden); s != "" && len(out.Incidents) == 0 && out.Empty == "" {
		out.Empty = s
	}
	for _, p := range problems {
		out.Sources = append(out.Sources, lsp.SourceStatus{Name: p.name, Err: p.err.Error()})
	}
	for _, f := range fetched {
		st := lsp.SourceStatus{Name: f.Name, OK: f.Err == nil}
		if f.Err != nil {
			st.Err = f.Err.Error()
		}
		out.Sources = append(out.Sources, st)
	}
	return out
}

func (e *engine) workspace(root string, cfg config.Config) (*analysis.Workspace, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	opt := pathOptions(cfg)
	if ws := e.repos[root]; ws != nil {
		m, err := pathmap.New(root, opt)
		if err != nil {
			return nil, fmt.Errorf("index workspace %s: %w", root, err)
		}
		ws.Mapper.Close()
		ws.Mapper = m
		return ws, nil
	}
	ws, err := analysis.OpenWorkspace(root, opt)
	if err != nil {
		return nil, err
	}
	ws.Enrichers = e.enrichers
	e.repos[root] = ws
	return ws, nil
}

func pathOptions(cfg config.Config) pathmap.Options {
	opt := pathmap.Options{ServiceDirs: cfg.Services}
	for _, r := range cfg.PathRules {
		opt.Rules = append(opt.Rules, pathmap.Rule{From: r.From, To: r.To})
	}
	return opt
}

type sourceProblem struct {
	name string
	err  error
}

// buildSources turns configured sources into telemetry sources and reads the
// deploy events. A source that cannot be built is reported, not fatal: the
// others still run.
func buildSources(root string, cfg config.Config, labels map[string]string) ([]telemetry.Source, []incident.Deploy, []sourceProblem) {
	var srcs []telemetry.Source
	var problems []sourceProblem
	// Files that share their labels are read as the parts of one log
	// (pages of one saved query, given in any order): see
	// telemetry.NewFileSet.
	files, filesAt := []string(nil), -1
	for _, s := range cfg.Sources {
		if s.Kind == config.KindPrometheus || s.Kind == config.KindTraces {
			continue // evidence backends, not log sources: see configEnrichers
		}
		if p := filePath(s); p != "" && len(s.Labels) == 0 {
			if filesAt < 0 {
				filesAt = len(srcs)
				srcs = append(srcs, nil)
			}
			files = append(files, resolve(root, p))
			continue
		}
		src, err := newSource(root, s, labels)
		if err != nil {
			problems = append(problems, sourceProblem{s.Name(), err})
			continue
		}
		srcs = append(srcs, src)
	}
	if filesAt >= 0 {
		srcs[filesAt] = telemetry.NewFileSet(files, labels)
	}
	var deploys []incident.Deploy
	if cfg.Deploys != "" {
		ds, err := readDeploys(resolve(root, cfg.Deploys))
		if err != nil {
			problems = append(problems, sourceProblem{"deploys " + cfg.Deploys, err})
		}
		deploys = ds
	}
	if ds, err := githubDeploys(cfg.GitHub); err != nil {
		problems = append(problems, sourceProblem{"deploys github " + cfg.GitHub.Repo, err})
	} else {
		deploys = append(deploys, ds...)
	}
	return srcs, deploys, problems
}

// githubDeploys reads the successful deployments of github.repo through
// the GitHub Deployments API, when a token is in the environment
// (GITHUB_TOKEN): teams that deploy through GitHub need no deploys file.
func githubDeploys(gh config.GitHub) ([]incident.Deploy, error) {
	token := os.Getenv("GITHUB_TOKEN")
	owner, repo, ok := strings.Cut(gh.Repo, "/")
	if !ok || token == "" {
		return nil, nil
	}
	client := github.NewClient(nil).WithAuthToken(token)
	if gh.BaseURL != "" {
		var err error
		if client, err = client.WithEnterpriseURLs(gh.BaseURL, gh.BaseURL); err != nil {
			return nil, fmt.Errorf("github base_url %q: %w", gh.BaseURL, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return telemetry.GitHubDeploys(ctx, client, owner, repo, "")
}

// filePath is the path of a file source, empty for other kinds.
func filePath(s config.Source) string {
	if s.Kind != "file" && s.Kind != "" {
		return ""
	}
	if s.Path != "" {
		return s.Path
	}
	return s.URL
}

// newSource builds one backend. Adding a backend is one case here plus its
// file in telemetry.
func newSource(root string, s config.Source, labels map[string]string) (telemetry.Source, error) {
	switch s.Kind {
	case "file", "":
		p := s.Path
		if p == "" {
			p = s.URL
		}
		if p == "" {
			return nil, fmt.Errorf("file source without a path")
		}
		l := labels
		if len(s.Labels) > 0 {
			l = telemetry.NormalizeLabels(s.Labels)
		}
		return telemetry.NewFileSource(resolve(root, p), l), nil
	case "loki":
		return newLokiSource(s)
	case "correlator":
		return telemetry.NewCorrelator(s.URL, os.Getenv("FAULTLINE_CORRELATOR_TOKEN")), nil
	case "sentry", "glitchtip":
		c, err := telemetry.SentryConfigFromURL(s.URL, os.Getenv("SENTRY_AUTH_TOKEN"))
		if err != nil {
			return nil, err
		}
		return telemetry.NewSentry(c)
	}
	return nil, fmt.Errorf("unknown source kind %q (known: file, loki, correlator, sentry)", s.Kind)
}

// newLokiSource reads Loki. Credentials come from the environment only
// (FAULTLINE_LOKI_TOKEN, or FAULTLINE_LOKI_USER and FAULTLINE_LOKI_PASSWORD),
// never from the workspace config. Without a selector every stream naming a
// service under any accepted label name is read.
func newLokiSource(s config.Source) (telemetry.Source, error) {
	if s.URL == "" {
		return nil, fmt.Errorf("loki source without a url")
	}
	selectors := []string{s.Selector}
	if s.Selector == "" {
		selectors = telemetry.DefaultSelectors
	}
	var srcs []telemetry.Source
	for _, sel := range selectors {
		src, err := telemetry.NewLoki(telemetry.LokiConfig{
			URL:      s.URL,
			Selector: sel,
			OrgID:    s.OrgID,
			Token:    os.Getenv("FAULTLINE_LOKI_TOKEN"),
			Username: os.Getenv("FAULTLINE_LOKI_USER"),
			Password: os.Getenv("FAULTLINE_LOKI_PASSWORD"),
		})
		if err != nil {
			return nil, fmt.Errorf("loki %s: %w", s.URL, err)
		}
		srcs = append(srcs, src)
	}
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	return multiSource(srcs), nil
}

// multiSource reads several disjoint queries of one backend as one source.
type multiSource []telemetry.Source

func (m multiSource) Name() string { return m[0].Name() }

func (m multiSource) Fetch(ctx context.Context, q telemetry.Query, fn func(incident.Event) error) (telemetry.Stats, error) {
	var total telemetry.Stats
	for _, s := range m {
		st, err := s.Fetch(ctx, q, fn)
		total.Add(st)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// parseSourceSpec reads the KIND:URL form of --source.
func parseSourceSpec(spec, selector string) (config.Source, error) {
	kind, url, ok := strings.Cut(spec, ":")
	if !ok || url == "" || kind == "" {
		return config.Source{}, fmt.Errorf("--source %q: want KIND:URL, e.g. loki:http://127.0.0.1:3100", spec)
	}
	s := config.Source{Kind: kind, URL: url, Selector: selector}
	if kind == "file" {
		s = config.Source{Kind: kind, Path: url}
	}
	return s, nil
}

func readDeploys(path string) ([]incident.Deploy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read deploys %s: %w", path, unwrapPathErr(err))
	}
	defer f.Close()
	ds, _, err := telemetry.ReadDeploys(f)
	if err != nil {
		return nil, fmt.Errorf("read deploys %s: %w", path, err)
	}
	return ds, nil
}

func resolve(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// configEnrichers builds the evidence backends configured as sources of
// kind prometheus and traces (url "tempo:URL", "jaeger:URL", or a plain URL
// for Tempo). A bad entry is reported, not fatal.
func configEnrichers(cfg config.Config) ([]analysis.Enricher, []sourceProblem) {
	var out []analysis.Enricher
	var problems []sourceProblem
	for _, s := range cfg.Sources {
		var prom, traces string
		switch s.Kind {
		case config.KindPrometheus:
			prom = s.URL
		case config.KindTraces:
			traces = s.URL
			if !strings.HasPrefix(traces, "tempo:") && !strings.HasPrefix(traces, "jaeger:") {
				traces = "tempo:" + traces
			}
		default:
			continue
		}
		e, err := enrichers(prom, traces)
		if err != nil {
			problems = append(problems, sourceProblem{s.Name(), err})
			continue
		}
		out = append(out, e...)
	}
	return out, problems
}

// onBranch keeps the incidents located in files the current branch changed
// since it forked from base; it returns how many it hid.
func onBranch(ctx context.Context, ws *analysis.Workspace, base string, incs []incident.Incident) ([]incident.Incident, int, error) {
	files, err := ws.Repo.BranchFiles(ctx, base)
	if err != nil {
		return nil, 0, err
	}
	changed := make(map[string]bool, len(files))
	for _, f := range files {
		changed[f] = true
	}
	var kept []incident.Incident
	for _, inc := range incs {
		if inc.Location != nil && changed[inc.Location.File] {
			kept = append(kept, inc)
		}
	}
	return kept, len(incs) - len(kept), nil
}
