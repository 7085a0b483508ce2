package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/lsp"
)

// fixedEngine is the analysis stand-in: it returns the generated incidents,
// so the LSP rows time the server, not the analysis.
type fixedEngine struct{ res lsp.Result }

func (e fixedEngine) Analyze(ctx context.Context, _ string, _ config.Config) (lsp.Result, error) {
	return e.res, ctx.Err()
}

// waitLimit guards against a hung server; nothing here asserts timing.
const waitLimit = 2 * time.Minute

// lspClient is a minimal editor: it speaks JSON-RPC over one end of a
// net.Pipe to lsp.Serve on the other, answers the server's requests the way
// editors do, and lets the caller wait for notifications it is watching for.
// It keeps no notification it is not watching for, so the heap rows measure
// the server, not the client.
type lspClient struct {
	conn   jsonrpc2.Conn
	served chan error

	mu      sync.Mutex
	watch   func(method string, params json.RawMessage) bool
	matched chan struct{}
}

func startLSP(ctx context.Context, eng lsp.Engine) *lspClient {
	srvSide, cliSide := net.Pipe()
	c := &lspClient{served: make(chan error, 1)}
	go func() {
		c.served <- lsp.Serve(ctx, srvSide, lsp.Options{Engine: eng, PollInterval: time.Hour})
	}()
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(cliSide))
	c.conn.Go(ctx, c.handle)
	return c
}

func (c *lspClient) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	c.mu.Lock()
	if c.watch != nil && c.watch(req.Method(), req.Params()) {
		c.watch = nil
		close(c.matched)
	}
	c.mu.Unlock()
	switch req.Method() {
	case protocol.MethodWorkspaceConfiguration:
		return reply(ctx, []any{map[string]any{}}, nil)
	case protocol.MethodWorkspaceApplyEdit:
		return reply(ctx, map[string]any{"applied": false}, nil)
	}
	return reply(ctx, nil, nil)
}

// expect arms a watch; the returned function waits until a notification
// for which match is true arrives. Arm before sending what triggers it.
func (c *lspClient) expect(match func(method string, params json.RawMessage) bool) func() error {
	ch := make(chan struct{})
	c.mu.Lock()
	c.watch, c.matched = match, ch
	c.mu.Unlock()
	return func() error {
		select {
		case <-ch:
			return nil
		case <-time.After(waitLimit):
			return fmt.Errorf("no matching notification within %s", waitLimit)
		}
	}
}

func (c *lspClient) call(ctx context.Context, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

// initialize opens root and waits until the server reports n incidents.
func (c *lspClient) initialize(ctx context.Context, root string, n int) error {
	want := []byte(fmt.Sprintf(`"incidents":%d`, n))
	wait := c.expect(func(m string, p json.RawMessage) bool {
		return m == "faultline/status" && bytes.Contains(p, want)
	})
	var res json.RawMessage
	if err := c.call(ctx, protocol.MethodInitialize, map[string]any{
		"processId":        os.Getpid(),
		"workspaceFolders": []map[string]string{{"uri": fileURI(root), "name": filepath.Base(root)}},
		"capabilities":     map[string]any{"window": map[string]any{"workDoneProgress": true}},
	}, &res); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if err := c.conn.Notify(ctx, protocol.MethodInitialized, map[string]any{}); err != nil {
		return fmt.Errorf("initialized: %w", err)
	}
	if err := wait(); err != nil {
		return fmt.Errorf("waiting for %d incidents: %w", n, err)
	}
	return nil
}

func (c *lspClient) shutdown(ctx context.Context) error {
	if err := c.call(ctx, protocol.MethodShutdown, nil, nil); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	_ = c.conn.Notify(ctx, protocol.MethodExit, nil)
	select {
	case <-c.served:
	case <-time.After(waitLimit):
		return fmt.Errorf("server did not exit")
	}
	return c.conn.Close()
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// echoPair is the baseline: a JSON-RPC server that answers every call with
// its params, over the same kind of pipe and the same library.
func echoPair(ctx context.Context) (jsonrpc2.Conn, func()) {
	a, z := net.Pipe()
	srv := jsonrpc2.NewConn(jsonrpc2.NewStream(a))
	srv.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		return reply(ctx, req.Params(), nil)
	})
	cli := jsonrpc2.NewConn(jsonrpc2.NewStream(z))
	cli.Go(ctx, jsonrpc2.MethodNotFoundHandler)
	return cli, func() { cli.Close(); srv.Close() }
}
