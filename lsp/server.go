// Package lsp is Faultline's language server: it runs the analysis in the
// background for each workspace root and shows the incidents as
// diagnostics, hovers, code lenses, code actions and commands.
//
// Invariants the editor relies on: no handler waits on the network or on
// the engine while holding the connection's reader (polls and commands run
// in goroutines, handlers read an immutable snapshot); an edit is never
// produced for a stale document version; a broken request is answered with
// an error and the server lives on.
package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
)

// Engine runs one analysis for a workspace root; the lead adapts the
// analysis pipeline to it. It is called from a poller goroutine and must
// return when ctx is cancelled.
type Engine interface {
	Analyze(ctx context.Context, root string, cfg config.Config) (Result, error)
}

// Result is one analysis run.
type Result struct {
	Incidents []incident.Incident // Location.File repo-relative to root, 1-based lines
	Sources   []SourceStatus
	Empty     string // when no incidents: which step came up empty and what to do
}

// SourceStatus says whether one source could be read in the last run.
type SourceStatus struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Err  string `json:"error,omitempty"`
}

// Options configure Serve.
type Options struct {
	Engine Engine
	// Fixer produces code actions, fixes and pull requests; nil until the
	// fixes work provides one (applyFix/openPR then answer with an error).
	Fixer Fixer
	// Log receives the server log (--log-file); may be nil.
	Log io.Writer
	// PollInterval overrides the configured poll_interval when non-zero
	// (the --poll flag).
	PollInterval time.Duration
	// ExtraSources are added to every root's configured sources (the
	// --logs/--source flags); Deploys, when set, overrides deploys.
	ExtraSources []config.Source
	Deploys      string
	// Explain, when set, explains how a frame was mapped (every candidate
	// file and why it won or lost) for faultline.explainFrame.
	Explain func(root string, cfg config.Config, inc incident.Incident, frame int) string
	// PreviewPrompt, when set, renders the exact LLM prompt for an incident
	// (faultline.previewPrompt); nothing is sent.
	PreviewPrompt func(root string, cfg config.Config, inc incident.Incident) (string, error)
	// Snooze, when set, records that an incident is snoozed until a time
	// (in the repository's .faultline/ignore); the next poll hides it.
	Snooze func(root string, inc incident.Incident, until time.Time) error
	// Impact, when set, names a severity ("error", "warning",
	// "information") from an incident's rate and count; used when the
	// configuration says severity.by: impact.
	Impact func(inc incident.Incident, now time.Time) string
	// Now is the clock used for "last 3m ago"; time.Now when nil.
	Now func() time.Time
}

// Server states.
const (
	stateNew int32 = iota
	stateInitialized
	stateShutdown
)

type server struct {
	opt    Options
	conn   jsonrpc2.Conn
	now    func() time.Time
	log    *logger
	state  atomic.Int32
	ctx    context.Context // lives until Serve returns
	exited chan struct{}
	exit   sync.Once

	caps     clientCaps
	initOpts json.RawMessage

	mu    sync.Mutex
	roots map[string]*root // by cleaned root path

	docs      *documents
	pub       *publisher
	cancelReq func(jsonrpc2.ID)
	progSeq   atomic.Int64
}

type clientCaps struct {
	workDoneProgress bool
	configuration    bool
}

// Serve speaks LSP on stream until the client sends exit, the stream
// closes or ctx is cancelled.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, opt Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{
		opt:    opt,
		now:    opt.Now,
		ctx:    ctx,
		exited: make(chan struct{}),
		roots:  map[string]*root{},
		docs:   newDocuments(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.log = &logger{w: opt.Log}
	st := newStream(rwc, s.log.printf)
	s.conn = jsonrpc2.NewConn(st)
	s.log.conn = s.conn
	s.pub = newPublisher(s)
	h, canceller := jsonrpc2.CancelHandler(s.handle)
	s.cancelReq = canceller
	s.conn.Go(ctx, h)

	var err error
	select {
	case <-s.exited:
	case <-s.conn.Done():
		if e := s.conn.Err(); e != nil && !isClosed(e) {
			err = fmt.Errorf("lsp connection: %w", e)
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stopRoots()
	_ = s.conn.Close()
	<-s.conn.Done()
	return err
}

// handle dispatches one message. It runs on the read loop: everything it
// calls directly must be quick and must not wait on the client.
func (s *server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.printf("bug: %s panicked: %v", req.Method(), r)
			err = reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error in %s: %v", req.Method(), r))
		}
	}()
	_, isCall := req.(*jsonrpc2.Call)
	method := req.Method()
	switch state := s.state.Load(); {
	case method == protocol.MethodExit:
		s.exit.Do(func() { close(s.exited) })
		return nil
	case state == stateNew && method != protocol.MethodInitialize:
		if isCall {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized"))
		}
		return nil
	case state == stateShutdown:
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shutting down"))
	}
	h, ok := handlers[method]
	if !ok {
		if !isCall {
			return nil // unknown notifications ($/setTrace, ...) are ignored
		}
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %s", method))
	}
	return h(s, ctx, reply, []byte(req.Params()))
}

type handlerFunc func(s *server, ctx context.Context, reply jsonrpc2.Replier, params []byte) error

// handlers lists every method the server implements; initialize advertises
// exactly these features.
var handlers map[string]handlerFunc

func init() {
	handlers = map[string]handlerFunc{
		protocol.MethodInitialize:                         (*server).initialize,
		protocol.MethodInitialized:                        (*server).initialized,
		protocol.MethodShutdown:                           (*server).shutdown,
		protocol.MethodCancelRequest:                      (*server).cancelRequest,
		protocol.MethodTextDocumentDidOpen:                (*server).didOpen,
		protocol.MethodTextDocumentDidChange:              (*server).didChange,
		protocol.MethodTextDocumentDidClose:               (*server).didClose,
		protocol.MethodTextDocumentHover:                  (*server).hover,
		protocol.MethodTextDocumentCodeLens:               (*server).codeLens,
		protocol.MethodTextDocumentCodeAction:             (*server).codeAction,
		methodCodeActionResolve:                           (*server).codeActionResolve,
		protocol.MethodWorkspaceExecuteCommand:            (*server).executeCommand,
		protocol.MethodWorkspaceDidChangeWorkspaceFolders: (*server).didChangeFolders,
		protocol.MethodWorkspaceDidChangeConfiguration:    (*server).didChangeConfiguration,
	}
}

// decode reads params; a failure is the client's: InvalidParams.
func decode(params []byte, v any) error {
	if len(params) == 0 {
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, "missing params")
	}
	if err := json.Unmarshal(params, v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params: %v", err)
	}
	return nil
}

type initializeParams struct {
	RootURI               string                     `json:"rootUri"`
	RootPath              string                     `json:"rootPath"`
	WorkspaceFolders      []protocol.WorkspaceFolder `json:"workspaceFolders"`
	InitializationOptions json.RawMessage            `json:"initializationOptions"`
	Capabilities          struct {
		Window struct {
			WorkDoneProgress bool `json:"workDoneProgress"`
		} `json:"window"`
		Workspace struct {
			Configuration bool `json:"configuration"`
		} `json:"workspace"`
	} `json:"capabilities"`
}

func (s *server) initialize(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	if s.state.Load() != stateNew {
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize sent twice"))
	}
	var p initializeParams
	if err := decode(params, &p); err != nil {
		return reply(ctx, nil, err)
	}
	s.caps = clientCaps{workDoneProgress: p.Capabilities.Window.WorkDoneProgress, configuration: p.Capabilities.Workspace.Configuration}
	s.initOpts = unwrapSection(p.InitializationOptions)
	var uris []string
	for _, f := range p.WorkspaceFolders {
		uris = append(uris, string(f.URI))
	}
	if len(uris) == 0 && p.RootURI != "" {
		uris = append(uris, p.RootURI)
	}
	if len(uris) == 0 && p.RootPath != "" {
		uris = append(uris, pathToURI(p.RootPath))
	}
	for _, u := range uris {
		s.addRoot(u)
	}
	s.state.Store(stateInitialized)
	return reply(ctx, initializeResult(), nil)
}

func initializeResult() map[string]any {
	return map[string]any{
		"capabilities": map[string]any{
			"textDocumentSync": map[string]any{"openClose": true, "change": protocol.TextDocumentSyncKindIncremental},
			"hoverProvider":    true,
			"codeLensProvider": map[string]any{"resolveProvider": false},
			"codeActionProvider": map[string]any{
				"codeActionKinds": []string{string(protocol.QuickFix)},
				"resolveProvider": true,
			},
			"executeCommandProvider": map[string]any{"commands": commandNames()},
			"workspace": map[string]any{
				"workspaceFolders": map[string]any{"supported": true, "changeNotifications": true},
			},
		},
		"serverInfo": map[string]any{"name": "faultline"},
	}
}

func (s *server) initialized(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.roots {
		s.startRoot(r)
	}
	return nil
}

func (s *server) shutdown(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	s.state.Store(stateShutdown)
	s.stopRoots()
	return reply(ctx, nil, nil)
}

func (s *server) cancelRequest(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p struct {
		ID jsonrpc2.ID `json:"id"`
	}
	if err := json.Unmarshal(params, &p); err == nil {
		s.cancelReq(p.ID)
	}
	return nil
}

// async runs a request's work off the read loop and replies from there;
// the context is the request's, cancelled by $/cancelRequest.
func (s *server) async(ctx context.Context, reply jsonrpc2.Replier, method string, work func(ctx context.Context) (any, error)) error {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.printf("bug: %s panicked: %v", method, r)
				_ = reply(context.WithoutCancel(ctx), nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "internal error in %s: %v", method, r))
			}
		}()
		res, err := work(ctx)
		if ctx.Err() != nil {
			res, err = nil, jsonrpc2.NewError(requestCancelled, "request cancelled")
		}
		if err := reply(context.WithoutCancel(ctx), res, err); err != nil {
			s.log.printf("reply to %s: %v", method, err)
		}
	}()
	return nil
}

// requestCancelled is LSP's RequestCancelled error code.
const requestCancelled jsonrpc2.Code = -32800

// logger writes to the --log-file writer and to window/logMessage.
type logger struct {
	mu   sync.Mutex
	w    io.Writer
	conn jsonrpc2.Conn
}

func (l *logger) printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.w != nil {
		l.mu.Lock()
		fmt.Fprintf(l.w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), msg)
		l.mu.Unlock()
	}
	if l.conn != nil {
		_ = l.conn.Notify(context.Background(), protocol.MethodWindowLogMessage,
			protocol.LogMessageParams{Type: protocol.MessageTypeLog, Message: msg})
	}
}
