package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/config"
)

// root is one workspace folder with its own configuration, poller and
// snapshot.
type root struct {
	path string
	uri  string

	cfg     atomic.Pointer[config.Config]
	snap    atomic.Pointer[snapshot]
	refresh chan chan int // a poll now; answers with the incident count
	cancel  context.CancelFunc
	done    chan struct{}

	// failing is touched by the poller goroutine only: which sources are
	// known down, so each outage is shown once.
	failing map[string]bool
}

func (r *root) config() config.Config { return *r.cfg.Load() }

func (s *server) rootList() []*root {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*root, 0, len(s.roots))
	for _, r := range s.roots {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// addRoot registers a folder; its poller starts at initialized (or at once
// when the folder is added later).
func (s *server) addRoot(uri string) *root {
	path, ok := uriToPath(uri)
	if !ok {
		s.log.printf("workspace folder %s is not a file URI: ignored", uri)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.roots[path]; r != nil {
		return r
	}
	r := &root{path: path, uri: uri, refresh: make(chan chan int), failing: map[string]bool{}}
	r.snap.Store(emptySnapshot(path))
	cfg := s.loadConfig(path, nil)
	r.cfg.Store(&cfg)
	s.roots[path] = r
	// Tell an engine that shares queries between folders about every
	// folder before the first poll, so even that poll queries once.
	if reg, ok := s.opt.Engine.(interface {
		Register(root string, cfg config.Config)
	}); ok {
		reg.Register(path, cfg)
	}
	return r
}

// loadConfig layers .faultline.yaml, initializationOptions, the client's
// workspace/configuration answer and the command-line flags. A broken layer
// is reported and skipped, so one typo does not turn the server off.
func (s *server) loadConfig(path string, settings json.RawMessage) config.Config {
	cfg, err := config.Load(path)
	if err != nil {
		s.showMessage(protocol.MessageTypeError, "Faultline: "+err.Error())
		cfg = config.Default()
	}
	for _, layer := range []json.RawMessage{s.initOpts, settings} {
		merged, err := cfg.Merge(layer)
		if err != nil {
			s.showMessage(protocol.MessageTypeError, "Faultline: "+err.Error())
			continue
		}
		cfg = merged
	}
	cfg = cfg.WithSources(s.opt.ExtraSources...)
	if s.opt.Deploys != "" {
		cfg.Deploys = s.opt.Deploys
	}
	if s.opt.PollInterval > 0 {
		cfg.PollInterval = config.Duration(s.opt.PollInterval)
	}
	return cfg
}

// startRoot launches the root's poller; s.mu is held.
func (s *server) startRoot(r *root) {
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	go s.runPoller(ctx, r)
}

func (s *server) stopRoots() {
	for _, r := range s.rootList() {
		s.stopRoot(r)
	}
}

func (s *server) stopRoot(r *root) {
	s.mu.Lock()
	cancel, done := r.cancel, r.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runPoller polls at once (with progress), then at every interval and on
// refresh requests. Prometheus's refresh loop is the model: every wait
// selects on ctx.Done().
func (s *server) runPoller(ctx context.Context, r *root) {
	defer close(r.done)
	if s.caps.configuration {
		s.pullConfiguration(ctx, r)
	}
	go s.watchGit(ctx, r)
	s.pollWithProgress(ctx, r)
	interval := r.config().PollInterval.D()
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.poll(ctx, r)
		case answer := <-r.refresh:
			answer <- s.poll(ctx, r)
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		interval = r.config().PollInterval.D()
		t.Reset(interval)
	}
}

// pullConfiguration asks the client for the "faultline" section scoped to
// the root. It runs on the poller goroutine, never on the read loop.
func (s *server) pullConfiguration(ctx context.Context, r *root) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	params := map[string]any{"items": []map[string]string{{"scopeUri": r.uri, "section": "faultline"}}}
	var res []json.RawMessage
	if _, err := s.conn.Call(ctx, protocol.MethodWorkspaceConfiguration, params, &res); err != nil {
		s.log.printf("workspace/configuration for %s: %v", r.path, err)
		return
	}
	if len(res) == 1 {
		cfg := s.loadConfig(r.path, res[0])
		r.cfg.Store(&cfg)
	}
}

// poll runs the engine once and publishes what changed. It returns the
// number of incidents now shown for the root.
func (s *server) poll(ctx context.Context, r *root) int {
	res, err := s.opt.Engine.Analyze(ctx, r.path, r.config())
	if ctx.Err() != nil {
		return len(r.snap.Load().order) // cancelled: quiet
	}
	prev := r.snap.Load()
	var next *snapshot
	if err != nil {
		next = staleCopy(prev, fmt.Sprintf("analysis failed: %v", err))
		s.noteFailures(r, []SourceStatus{{Name: "analysis", OK: false, Err: err.Error()}})
	} else {
		next = buildSnapshot(r.path, res, s.now())
		s.noteFailures(r, append(res.Sources, SourceStatus{Name: "analysis", OK: true}))
		if failed := failedSources(res.Sources); len(failed) > 0 {
			next.stale = true
			if len(res.Incidents) == 0 && len(prev.order) > 0 {
				// Nothing could be read: keep what was known, marked stale.
				next = staleCopy(prev, "")
				next.sources = res.Sources
			}
			next.message = "cannot read " + joinNames(failed)
		}
	}
	r.snap.Store(next)
	s.pub.publish(ctx, unionPaths(prev, next, s.pub.published()))
	s.sendStatus(ctx)
	return len(next.order)
}

func staleCopy(prev *snapshot, message string) *snapshot {
	cp := *prev
	cp.stale, cp.message = true, message
	return &cp
}

func failedSources(ss []SourceStatus) []SourceStatus {
	var out []SourceStatus
	for _, s := range ss {
		if !s.OK {
			out = append(out, s)
		}
	}
	return out
}

func joinNames(ss []SourceStatus) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s.Name
	}
	return out
}

// noteFailures shows a source's failure once, when it starts failing; it
// is shown again only after the source recovered and failed anew.
func (s *server) noteFailures(r *root, statuses []SourceStatus) {
	for _, st := range statuses {
		was := r.failing[st.Name]
		r.failing[st.Name] = !st.OK
		if !st.OK && !was {
			s.log.printf("%s: %s failed: %s", r.path, st.Name, st.Err)
			s.showMessage(protocol.MessageTypeWarning,
				fmt.Sprintf("Faultline: %s failed (%s); showing the last known incidents until it recovers.", st.Name, st.Err))
		}
		if st.OK && was {
			s.log.printf("%s: %s recovered", r.path, st.Name)
		}
	}
}

// unionPaths lists the files to republish: those with incidents before or
// now, plus those the client shows diagnostics for.
func unionPaths(prev, next *snapshot, shown []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, e := range next.order {
		add(e.path)
	}
	for p := range prev.byFile {
		add(p)
	}
	for _, p := range shown {
		add(p)
	}
	return out
}

func (s *server) showMessage(typ protocol.MessageType, msg string) {
	if s.conn == nil {
		return
	}
	_ = s.conn.Notify(s.ctx, protocol.MethodWindowShowMessage, protocol.ShowMessageParams{Type: typ, Message: msg})
}

// refreshAll polls every root now and waits for the results.
func (s *server) refreshAll(ctx context.Context) (int, error) {
	roots := s.rootList()
	var wg sync.WaitGroup
	counts := make([]int, len(roots))
	errs := make([]error, len(roots))
	for i, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer := make(chan int, 1)
			select {
			case r.refresh <- answer:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			case <-r.done:
				errs[i] = errors.New("server is shutting down")
				return
			}
			select {
			case counts[i] = <-answer:
			case <-ctx.Done():
				errs[i] = ctx.Err()
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := range roots {
		if errs[i] != nil {
			return 0, errs[i]
		}
		total += counts[i]
	}
	return total, nil
}

func (s *server) didChangeFolders(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.DidChangeWorkspaceFoldersParams
	if err := decode(params, &p); err != nil {
		return nil
	}
	for _, f := range p.Event.Removed {
		path, ok := uriToPath(f.URI)
		if !ok {
			continue
		}
		s.mu.Lock()
		r := s.roots[path]
		delete(s.roots, path)
		s.mu.Unlock()
		if r != nil {
			go func() { // stopping waits for the poller: not on the read loop
				s.stopRoot(r)
				s.pub.publish(s.ctx, unionPaths(r.snap.Load(), emptySnapshot(path), nil))
				s.sendStatus(s.ctx)
			}()
		}
	}
	for _, f := range p.Event.Added {
		if r := s.addRoot(f.URI); r != nil {
			s.mu.Lock()
			s.startRoot(r)
			s.mu.Unlock()
		}
	}
	return nil
}

// didChangeConfiguration re-reads every layer of every root and polls.
func (s *server) didChangeConfiguration(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p struct {
		Settings json.RawMessage `json:"settings"`
	}
	_ = json.Unmarshal(params, &p)
	settings := unwrapSection(p.Settings)
	go func() {
		for _, r := range s.rootList() {
			cfg := s.loadConfig(r.path, settings)
			r.cfg.Store(&cfg)
			if s.caps.configuration {
				s.pullConfiguration(s.ctx, r)
			}
		}
		if _, err := s.refreshAll(s.ctx); err != nil {
			s.log.printf("refresh after configuration change: %v", err)
		}
	}()
	return nil
}

// unwrapSection accepts settings either as {"faultline": {...}} or bare.
func unwrapSection(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil && len(m) == 1 && m["faultline"] != nil {
		return m["faultline"]
	}
	return raw
}
