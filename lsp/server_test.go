package lsp

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/incident"
)

func loadWorkspace(t testing.TB) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "workspace.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}
	return writeWorkspace(t, files)
}

// Incidents of the workspace fixture.
var (
	incIndex = incident.Incident{
		ID: "inc-index", Service: "checkout", Env: "prod", Versions: []string{"v1.4.0"},
		ErrorType: "runtime error: index out of range",
		Message:   "panic: runtime error: index out of range [3] with length 3",
		Count:     14, FirstSeen: testNow.Add(-2 * time.Hour), LastSeen: testNow.Add(-3 * time.Minute),
		Location: &incident.Location{File: "cart/cart.go", Line: 7, Column: 3, Function: "cart.Total"},
		Frames: []incident.MappedFrame{
			{Function: "cart.Total", File: "cart/cart.go", Line: 7, InApp: true, Mapped: true, OriginalPath: "/app/cart/cart.go", OriginalLine: 7},
			{Function: "api.Checkout", File: "api/handler.go", Line: 6, InApp: true, Mapped: true, OriginalPath: "/app/api/handler.go", OriginalLine: 6},
			{Function: "runtime.goexit", File: "/usr/local/go/src/runtime/asm_amd64.s", Line: 1700, OriginalPath: "/usr/local/go/src/runtime/asm_amd64.s", OriginalLine: 1700},
		},
		RootCause: &incident.RootCause{Summary: "loop bound uses <= len", Confidence: 0.8,
			SuspectCommit: &incident.Commit{SHA: "0123456789abcdef0123", Author: "Ada", Summary: "iterate all items"},
			Evidence:      []incident.Evidence{{Kind: "deploy", Text: "first seen 1h after v1.4.0"}}},
		TraceIDs: []string{"4bf92f3577b34da6"},
		Deploy:   &incident.Deploy{Time: testNow.Add(-3 * time.Hour), Service: "checkout", Env: "prod", Version: "v1.4.0", Commit: "fedcba9876543210"},
	}
	incSlice = incident.Incident{
		ID: "inc-slice", Service: "checkout", Env: "prod",
		Message: "panic: runtime error: slice bounds out of range [:40] with length 18",
		Count:   2, FirstSeen: testNow.Add(-5 * time.Hour), LastSeen: testNow.Add(-2 * time.Hour),
		Location: &incident.Location{File: "text/emoji.go", Line: 4, Function: "text.Greet"},
	}
	incNilMap = incident.Incident{
		ID: "inc-nilmap", Service: "checkout", Env: "prod",
		Message: "panic: assignment to entry in nil map", Count: 1,
		FirstSeen: testNow.Add(-time.Hour), LastSeen: testNow.Add(-time.Hour),
		Location: &incident.Location{File: "api/handler.go", Line: 6, Function: "api.Checkout"},
	}
	// An incident pointing outside the workspace is never published.
	incEscape = incident.Incident{ID: "inc-escape", Message: "x", Count: 1,
		Location: &incident.Location{File: "../../etc/passwd", Line: 1}}
)

func allIncidents() Result {
	return Result{Incidents: []incident.Incident{incIndex, incSlice, incNilMap, incEscape},
		Sources: []SourceStatus{{Name: "file logs.jsonl", OK: true}}}
}

func rng(l1, c1, l2, c2 uint32) protocol.Range {
	return protocol.Range{Start: protocol.Position{Line: l1, Character: c1}, End: protocol.Position{Line: l2, Character: c2}}
}

func TestDiagnosticsProgressAndClearing(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(allIncidents(), nil)
	c := startClient(t, serverSetup{engine: eng})
	res := c.initialize(root)
	caps, _ := res["capabilities"].(map[string]any)
	for _, k := range []string{"textDocumentSync", "hoverProvider", "codeLensProvider", "codeActionProvider", "executeCommandProvider", "workspace"} {
		if caps[k] == nil {
			t.Errorf("capability %s not advertised", k)
		}
	}
	if caps["completionProvider"] != nil || caps["definitionProvider"] != nil {
		t.Errorf("advertises unimplemented features: %v", caps)
	}

	begin := c.wait(protocol.MethodProgress, func(r json.RawMessage) bool { return strings.Contains(string(r), `"begin"`) })
	end := c.wait(protocol.MethodProgress, func(r json.RawMessage) bool { return strings.Contains(string(r), `"end"`) })
	if !strings.Contains(string(end), "3 incidents") {
		t.Errorf("progress end = %s", end)
	}
	c.mu.Lock()
	created := len(c.requests) > 0 && c.requests[0].method == protocol.MethodWorkDoneProgressCreate &&
		strings.Contains(string(c.requests[0].params), tokenOf(t, begin))
	c.mu.Unlock()
	if !created {
		t.Errorf("window/workDoneProgress/create with the progress token was not requested first")
	}

	cart := c.diagsFor(filepath.Join(root, "cart/cart.go"))
	want := protocol.Diagnostic{
		Range: rng(6, 2, 6, 17), Severity: protocol.DiagnosticSeverityError, Code: "inc-index", Source: "faultline",
		Message: "panic: runtime error: index out of range [3] with length 3 (14x in checkout/prod, last 3m ago, since deploy v1.4.0)",
		RelatedInformation: []protocol.DiagnosticRelatedInformation{{
			Location: protocol.Location{URI: protocol.DocumentURI(pathToURI(filepath.Join(root, "api/handler.go"))), Range: rng(5, 1, 5, 25)},
			Message:  "called from api.Checkout"}},
		Data: map[string]any{"id": "inc-index"},
	}
	if len(cart.Diagnostics) != 1 || !reflect.DeepEqual(cart.Diagnostics[0], want) {
		t.Errorf("cart.go diagnostics =\n%+v\nwant\n%+v", cart.Diagnostics, want)
	}
	emoji := c.diagsFor(filepath.Join(root, "text/emoji.go"))
	if len(emoji.Diagnostics) != 1 || emoji.Diagnostics[0].Range != rng(3, 1, 3, 37) ||
		emoji.Diagnostics[0].Severity != protocol.DiagnosticSeverityWarning ||
		emoji.Diagnostics[0].Message != "panic: runtime error: slice bounds out of range [:40] with length 18 (2x in checkout/prod, last 2h ago)" {
		t.Errorf("emoji.go (UTF-16 columns, recurring severity) = %+v", emoji.Diagnostics)
	}
	handler := filepath.Join(root, "api/handler.go")
	if d := c.diagsFor(handler); len(d.Diagnostics) != 1 || d.Diagnostics[0].Code != "inc-nilmap" {
		t.Errorf("handler.go diagnostics = %+v", d.Diagnostics)
	}
	var st statusParams
	_ = json.Unmarshal(c.wait(methodStatus, nil), &st)
	if st.Incidents != 3 || st.Stale || len(st.Sources) != 1 || !st.Sources[0].OK {
		t.Errorf("status = %+v", st)
	}

	// The nil-map incident disappears: its file is cleared, the others are
	// not republished (unchanged).
	eng.set(Result{Incidents: []incident.Incident{incIndex, incSlice}}, nil)
	var refreshed map[string]int
	if err := c.command(cmdRefresh, map[string]any{}, &refreshed); err != nil || refreshed["incidents"] != 2 {
		t.Fatalf("refresh = %v, %v", refreshed, err)
	}
	if d := c.diagsFor(handler); len(d.Diagnostics) != 0 {
		t.Errorf("disappeared incident not cleared: %+v", d.Diagnostics)
	}
	c.wait(methodStatus, nil)
	if n := c.count(protocol.MethodTextDocumentPublishDiagnostics); n != 4 {
		t.Errorf("%d publishDiagnostics, want 4 (3 files, then one clear; unchanged files are not republished)", n)
	}
	c.shutdown()
}

func tokenOf(t *testing.T, progress json.RawMessage) string {
	var p struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(progress, &p); err != nil || p.Token == "" {
		t.Fatalf("progress without token: %s", progress)
	}
	return p.Token
}

func hoverAt(t *testing.T, c *client, path string, line int) *protocol.Hover {
	t.Helper()
	var h *protocol.Hover
	if err := c.call(protocol.MethodTextDocumentHover, map[string]any{
		"textDocument": map[string]string{"uri": pathToURI(path)},
		"position":     map[string]int{"line": line, "character": 3}}, &h); err != nil {
		t.Fatalf("hover: %v", err)
	}
	return h
}

func TestEditsMoveDiagnostics(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)
	c.open(cart, 1)

	steps := []struct {
		name      string
		version   int32
		edit      func()
		wantRange *protocol.Range // nil: the diagnostic is gone
	}{
		{"two lines inserted above", 2, func() { c.change(cart, 2, 3, 0, 3, 0, "// a\n// b\n") }, ptr(rng(8, 2, 8, 17))},
		{"edit on the line keeps it", 3, func() { c.change(cart, 3, 8, 9, 8, 9, "0+") }, ptr(rng(8, 2, 8, 19))},
		{"line split below keeps it", 4, func() { c.change(cart, 4, 7, 37, 7, 37, "\n") }, ptr(rng(9, 2, 9, 19))},
		{"line deleted drops it", 5, func() { c.change(cart, 5, 9, 0, 10, 0, "") }, nil},
	}
	for _, s := range steps {
		s.edit()
		got := c.diagsFor(cart)
		if got.Version != uint32(s.version) {
			t.Errorf("%s: published for version %d, want %d", s.name, got.Version, s.version)
		}
		switch {
		case s.wantRange == nil && len(got.Diagnostics) != 0:
			t.Errorf("%s: diagnostics %+v, want none", s.name, got.Diagnostics)
		case s.wantRange != nil && (len(got.Diagnostics) != 1 || got.Diagnostics[0].Range != *s.wantRange):
			t.Errorf("%s: diagnostics %+v, want range %+v", s.name, got.Diagnostics, *s.wantRange)
		}
	}
	c.shutdown()
}

func TestStaleVersionIgnored(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)
	c.open(cart, 5)
	c.change(cart, 5, 0, 0, 0, 0, "// 1\n// 2\n// 3\n") // same version: stale
	c.change(cart, 4, 0, 0, 0, 0, "// 1\n")             // older: stale
	if h := hoverAt(t, c, cart, 6); h == nil || !strings.Contains(h.Contents.Value, "index out of range") {
		t.Errorf("stale didChange moved the incident: hover at line 6 = %+v", h)
	}
	if n := c.count(protocol.MethodTextDocumentPublishDiagnostics); n != 1 {
		t.Errorf("stale changes produced %d publishes, want only the first poll's", n)
	}
	c.shutdown()
}

func ptr[T any](v T) *T { return &v }

func TestHoverAndCodeLens(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(allIncidents(), nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)

	h := hoverAt(t, c, cart, 6)
	if h == nil {
		t.Fatal("no hover on the incident line")
	}
	for _, want := range []string{
		"**panic: runtime error: index out of range \\[3\\] with length 3**",
		"14× in production (checkout/prod)",
		"first seen 2h ago (2026-11-20 10:00 UTC), last seen 3m ago (2026-11-20 11:57 UTC)",
		"Versions: v1.4.0",
		"Deploy: v1.4.0 at 2026-11-20 09:00 UTC (commit `fedcba987654`)",
		"Suspect commit: `0123456789ab` iterate all items — Ada",
		"Root cause (80% confidence): loop bound uses \\<= len",
		"1. `cart.Total` [cart/cart.go:7](" + pathToURI(cart) + "#L7)",
		"3. `runtime.goexit` /usr/local/go/src/runtime/asm\\_amd64.s:1700 (library)",
		"Traces: `4bf92f3577b34da6`",
	} {
		if !strings.Contains(h.Contents.Value, want) {
			t.Errorf("hover lacks %q:\n%s", want, h.Contents.Value)
		}
	}
	if h.Contents.Kind != protocol.Markdown || h.Range == nil || *h.Range != rng(6, 2, 6, 17) {
		t.Errorf("hover kind %q range %+v", h.Contents.Kind, h.Range)
	}
	if h := hoverAt(t, c, cart, 5); h != nil {
		t.Errorf("hover on a line without incidents = %+v", h)
	}

	var lenses []protocol.CodeLens
	if err := c.call(protocol.MethodTextDocumentCodeLens, map[string]any{"textDocument": map[string]string{"uri": pathToURI(cart)}}, &lenses); err != nil {
		t.Fatal(err)
	}
	if len(lenses) != 1 || lenses[0].Range.Start.Line != 3 || lenses[0].Command == nil ||
		lenses[0].Command.Title != "14 production errors · last 3m ago · Show incident" ||
		lenses[0].Command.Command != cmdShowIncident {
		t.Errorf("code lenses = %+v", lenses)
	}
	c.shutdown()
}

func TestCommands(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(allIncidents(), nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	c.diagsFor(filepath.Join(root, "cart/cart.go"))

	var shown map[string]string
	if err := c.command(cmdShowIncident, map[string]string{"id": "inc-index"}, &shown); err != nil ||
		shown["id"] != "inc-index" || !strings.Contains(shown["markdown"], "Suspect commit") {
		t.Errorf("showIncident = %v, %v", shown, err)
	}
	var list []listedIncident
	if err := c.command(cmdListIncidents, map[string]any{}, &list); err != nil || len(list) != 3 {
		t.Fatalf("listIncidents = %+v, %v", list, err)
	}
	byID := map[string]listedIncident{}
	for _, l := range list {
		byID[l.ID] = l
	}
	if l := byID["inc-index"]; l.Line != 6 || l.Character != 2 || l.EndCharacter != 17 || l.Severity != 1 || l.Count != 14 ||
		l.URI != pathToURI(filepath.Join(root, "cart/cart.go")) || l.Service != "checkout" || l.Env != "prod" {
		t.Errorf("listed inc-index = %+v", l)
	}
	var ex map[string]string
	if err := c.command(cmdExplainFrame, map[string]any{"id": "inc-index", "frame": 1}, &ex); err != nil ||
		!strings.Contains(ex["markdown"], "api/handler.go:6") {
		t.Errorf("explainFrame = %v, %v", ex, err)
	}
	errCases := []struct {
		name string
		arg  map[string]any
		want string
	}{
		{cmdApplyFix, map[string]any{"id": "inc-index", "uri": pathToURI(filepath.Join(root, "cart/cart.go"))}, "no fix available for this incident"},
		{cmdOpenPR, map[string]any{"id": "inc-index"}, "no fixer is configured"},
		{cmdShowIncident, map[string]any{"id": "nope"}, `no incident "nope"`},
		{cmdExplainFrame, map[string]any{"id": "inc-index", "frame": 9}, "no frame 9"},
		{"faultline.bogus", map[string]any{}, "unknown command"},
	}
	for _, tc := range errCases {
		err := c.command(tc.name, tc.arg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s error = %v, want %q", tc.name, err, tc.want)
		}
	}
	c.shutdown()
}

func TestRequestsBeforeInitializeAndUnknownMethods(t *testing.T) {
	c := startClient(t, serverSetup{engine: &fakeEngine{}})
	err := c.call(protocol.MethodTextDocumentHover, map[string]any{}, nil)
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.ServerNotInitialized {
		t.Errorf("hover before initialize = %v, want ServerNotInitialized", err)
	}
	c.initialize(t.TempDir())
	err = c.call("textDocument/completion", map[string]any{}, nil)
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.MethodNotFound {
		t.Errorf("unknown method = %v, want MethodNotFound", err)
	}
	err = c.call(protocol.MethodTextDocumentHover, []int{1}, nil)
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.InvalidParams {
		t.Errorf("bad params = %v, want InvalidParams", err)
	}
	c.shutdown()
}

func TestSlowEngineNeverBlocksRequests(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{block: true}
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	c.wait(protocol.MethodProgress, func(r json.RawMessage) bool { return strings.Contains(string(r), `"begin"`) })
	cart := filepath.Join(root, "cart/cart.go")
	c.open(cart, 1)
	c.change(cart, 2, 0, 0, 0, 0, "// x\n")
	// Answered while the first poll is still stuck in the engine.
	if h := hoverAt(t, c, cart, 7); h != nil {
		t.Errorf("hover = %+v, want none before the first poll", h)
	}
	var lenses []protocol.CodeLens
	if err := c.call(protocol.MethodTextDocumentCodeLens, map[string]any{"textDocument": map[string]string{"uri": pathToURI(cart)}}, &lenses); err != nil {
		t.Errorf("codeLens during a slow poll: %v", err)
	}
	c.shutdown() // cancels the stuck poll
}

func TestFailingSourceShownOnceAndStale(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(allIncidents(), nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)
	c.wait(methodStatus, nil)

	eng.set(Result{}, errors.New("query loki http://127.0.0.1:3100: connection refused"))
	for i := 0; i < 3; i++ {
		var r map[string]int
		if err := c.command(cmdRefresh, map[string]any{}, &r); err != nil || r["incidents"] != 3 {
			t.Fatalf("refresh %d = %v, %v (last known incidents must stay)", i, r, err)
		}
	}
	var st statusParams
	for i := 0; i < 3; i++ {
		_ = json.Unmarshal(c.wait(methodStatus, nil), &st)
		if !st.Stale || st.Incidents != 3 || !strings.Contains(st.Message, "connection refused") {
			t.Errorf("status after failure %d = %+v", i, st)
		}
	}
	if n := c.count(protocol.MethodWindowShowMessage); n != 1 {
		t.Errorf("%d showMessage over 3 failing polls, want 1", n)
	}
	if n := c.count(protocol.MethodTextDocumentPublishDiagnostics); n != 3 {
		t.Errorf("diagnostics were republished or cleared during the outage: %d publishes", n)
	}
	// Recovery, then a new outage: shown again.
	eng.set(allIncidents(), nil)
	_ = c.command(cmdRefresh, map[string]any{}, nil)
	eng.set(Result{}, errors.New("down again"))
	_ = c.command(cmdRefresh, map[string]any{}, nil)
	if n := c.count(protocol.MethodWindowShowMessage); n != 2 {
		t.Errorf("%d showMessage after recovery and a new outage, want 2", n)
	}
	c.shutdown()
}

func TestInitializeConfigAndRootURIFallback(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	c := startClient(t, serverSetup{engine: eng})
	var res map[string]any
	if err := c.call(protocol.MethodInitialize, map[string]any{
		"rootUri":               pathToURI(root),
		"initializationOptions": map[string]any{"severity": map[string]string{"new": "hint", "recurring": "information"}},
		"capabilities":          map[string]any{},
	}, &res); err != nil {
		t.Fatal(err)
	}
	eng.set(Result{Incidents: []incident.Incident{incIndex, incSlice}}, nil)
	c.notify(protocol.MethodInitialized, map[string]any{})
	cart := c.diagsFor(filepath.Join(root, "cart/cart.go"))
	emoji := c.diagsFor(filepath.Join(root, "text/emoji.go"))
	if cart.Diagnostics[0].Severity != protocol.DiagnosticSeverityHint || emoji.Diagnostics[0].Severity != protocol.DiagnosticSeverityInformation {
		t.Errorf("severities from initializationOptions not applied: %v %v", cart.Diagnostics[0].Severity, emoji.Diagnostics[0].Severity)
	}
	c.shutdown()
}
