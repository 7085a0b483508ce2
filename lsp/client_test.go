package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
)

// waitLimit only guards against a hung test; no test asserts timing.
const waitLimit = 20 * time.Second

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fakeEngine returns whatever the test set last; block makes Analyze wait
// for its context (a slow source).
type fakeEngine struct {
	mu    sync.Mutex
	res   Result
	err   error
	block bool
	calls int
	cfgs  []config.Config
}

func (f *fakeEngine) set(res Result, err error) {
	f.mu.Lock()
	f.res, f.err = res, err
	f.mu.Unlock()
}

func (f *fakeEngine) Analyze(ctx context.Context, root string, cfg config.Config) (Result, error) {
	f.mu.Lock()
	f.calls++
	f.cfgs = append(f.cfgs, cfg)
	res, err, block := f.res, f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return Result{}, ctx.Err()
	}
	return res, err
}

type note struct {
	method string
	params json.RawMessage
}

// client is an in-process LSP client over net.Pipe. It records every
// notification and answers the server's requests the way editors do.
type client struct {
	t    testing.TB
	conn jsonrpc2.Conn
	raw  net.Conn // for writing malformed frames

	mu       sync.Mutex
	cond     *sync.Cond
	notes    []note
	cursor   map[string]int
	requests []note
	applied  bool // answer to workspace/applyEdit
	// lean drops the bodies of diagnostics of files other than keep
	// (benchmarks measure the server's heap, not the client's).
	lean bool
	keep string

	served chan error
}

type serverSetup struct {
	engine *fakeEngine
	fixer  Fixer
	snooze func(root string, inc incident.Incident, until time.Time) error
	impact func(inc incident.Incident, now time.Time) string
	roots  []string
	poll   time.Duration
	caps   map[string]any
}

func startClient(t testing.TB, setup serverSetup) *client {
	t.Helper()
	srvSide, cliSide := net.Pipe()
	c := &client{t: t, raw: cliSide, cursor: map[string]int{}, applied: true, served: make(chan error, 1)}
	c.cond = sync.NewCond(&c.mu)
	poll := setup.poll
	if poll == 0 {
		poll = time.Hour // tests trigger polls with faultline.refresh
	}
	go func() {
		c.served <- Serve(context.Background(), srvSide, Options{
			Engine: setup.engine, Fixer: setup.fixer, PollInterval: poll, Snooze: setup.snooze, Impact: setup.impact,
			Now: func() time.Time { return testNow },
		})
	}()
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(cliSide))
	c.conn.Go(context.Background(), c.handle)
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func (c *client) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	n := note{method: strings.Clone(req.Method()), params: append(json.RawMessage(nil), req.Params()...)}
	c.mu.Lock()
	if c.lean && n.method == protocol.MethodTextDocumentPublishDiagnostics && !strings.Contains(string(n.params), c.keep) {
		n.params = nil
	}
	if _, isCall := req.(*jsonrpc2.Call); isCall {
		c.requests = append(c.requests, n)
	} else {
		c.notes = append(c.notes, n)
	}
	applied := c.applied
	c.cond.Broadcast()
	c.mu.Unlock()
	switch req.Method() {
	case protocol.MethodWorkspaceApplyEdit:
		return reply(ctx, map[string]any{"applied": applied}, nil)
	case protocol.MethodShowDocument:
		return reply(ctx, map[string]any{"success": true}, nil)
	case protocol.MethodWorkspaceConfiguration:
		return reply(ctx, []any{map[string]any{"poll_interval": "1h"}}, nil)
	}
	return reply(ctx, nil, nil)
}

// wait returns the next notification of method (after the last one this
// method's wait returned) for which match is true.
func (c *client) wait(method string, match func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	deadline := time.AfterFunc(waitLimit, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer deadline.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := c.cursor[method]; i < len(c.notes); i++ {
			if c.notes[i].method == method && (match == nil || match(c.notes[i].params)) {
				c.cursor[method] = i + 1
				return c.notes[i].params
			}
		}
		if time.Since(start) > waitLimit {
			c.t.Fatalf("no %s notification arrived", method)
		}
		c.cond.Wait()
	}
}

// diagsFor waits for the next publishDiagnostics of path.
func (c *client) diagsFor(path string) protocol.PublishDiagnosticsParams {
	c.t.Helper()
	var p protocol.PublishDiagnosticsParams
	raw := c.wait(protocol.MethodTextDocumentPublishDiagnostics, func(r json.RawMessage) bool {
		var q protocol.PublishDiagnosticsParams
		_ = json.Unmarshal(r, &q)
		return string(q.URI) == pathToURI(path)
	})
	if err := json.Unmarshal(raw, &p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func (c *client) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.notes {
		if x.method == method {
			n++
		}
	}
	return n
}

func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) command(name string, arg, result any) error {
	return c.call(protocol.MethodWorkspaceExecuteCommand, map[string]any{"command": name, "arguments": []any{arg}}, result)
}

// initialize runs initialize + initialized with progress support.
func (c *client) initialize(roots ...string) map[string]any {
	c.t.Helper()
	folders := []map[string]string{}
	for _, r := range roots {
		folders = append(folders, map[string]string{"uri": pathToURI(r), "name": filepath.Base(r)})
	}
	var res map[string]any
	if err := c.call(protocol.MethodInitialize, map[string]any{
		"processId": 1, "workspaceFolders": folders,
		"capabilities": map[string]any{"window": map[string]any{"workDoneProgress": true}},
	}, &res); err != nil {
		c.t.Fatalf("initialize: %v", err)
	}
	c.notify(protocol.MethodInitialized, map[string]any{})
	return res
}

func (c *client) open(path string, version int32) {
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	c.notify(protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
		"uri": pathToURI(path), "languageId": "go", "version": version, "text": string(data)}})
}

func (c *client) change(path string, version int32, sl, sc, el, ec int, text string) {
	c.notify(protocol.MethodTextDocumentDidChange, map[string]any{
		"textDocument": map[string]any{"uri": pathToURI(path), "version": version},
		"contentChanges": []any{map[string]any{
			"range": map[string]any{"start": map[string]int{"line": sl, "character": sc}, "end": map[string]int{"line": el, "character": ec}},
			"text":  text}},
	})
}

// shutdown ends the session cleanly and checks Serve returned nil.
func (c *client) shutdown() {
	c.t.Helper()
	if err := c.call(protocol.MethodShutdown, nil, nil); err != nil {
		c.t.Fatalf("shutdown: %v", err)
	}
	c.notify(protocol.MethodExit, nil)
	select {
	case err := <-c.served:
		if err != nil && !errors.Is(err, io.EOF) {
			c.t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(waitLimit):
		c.t.Fatal("Serve did not return after exit")
	}
}

// writeWorkspace creates files under a temp root.
func writeWorkspace(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
