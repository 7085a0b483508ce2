package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
	"github.com/faultline-dev/faultline/store"
)

// TestCanaryNeverLeaks: a token that leaked into production log lines
// (here as a password in a DSN inside a panic message) must appear nowhere
// Faultline writes: check's JSON and text output, the incident store, the
// editor's diagnostics and hovers, and the LLM prompt preview.
func TestCanaryNeverLeaks(t *testing.T) {
	d, err := buildDemo(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(d.Logs)
	if err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(t.TempDir(), "logs.jsonl")
	leaky := bytes.ReplaceAll(raw, []byte("store: open 127.0.0.1:5432"), []byte("store: open postgres://app:"+canary+"@127.0.0.1:5432 token="+canary))
	if !bytes.Contains(leaky, []byte(canary)) {
		t.Fatal("the fixture did not plant the canary")
	}
	if err := os.WriteFile(logs, leaky, 0o644); err != nil {
		t.Fatal(err)
	}
	leak := func(where, text string) {
		t.Helper()
		if strings.Contains(text, canary) || strings.Contains(text, "CANARY") {
			t.Errorf("the canary token leaked into %s", where)
		}
	}

	// check, both formats.
	for _, format := range []string{"json", "text"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"check", "--repo", d.Root, "--logs", logs, "--deploys", d.Deploys, "--format", format}, &stdout, &stderr); code != 0 {
			t.Fatalf("check: %s", stderr.String())
		}
		leak("check --format "+format, stdout.String()+stderr.String())
	}
	incs := checkJSON(t, "--repo", d.Root, "--logs", logs, "--deploys", d.Deploys)
	var infra *incident.Incident
	for i := range incs {
		if strings.Contains(incs[i].Message, "postgres://") {
			infra = &incs[i]
		}
	}
	if infra == nil {
		t.Fatal("the incident carrying the DSN was not found")
	}

	// The store.
	dbPath := filepath.Join(t.TempDir(), "store.db")
	st, err := store.OpenSQLite(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range incs {
		if _, err := st.Ingest(context.Background(), "demo", inc, []store.Occurrence{{Key: inc.ID, IncidentID: inc.ID, Time: inc.FirstSeen, Message: inc.Message}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, suffix := range []string{"", "-wal"} {
		if b, err := os.ReadFile(dbPath + suffix); err == nil {
			leak("the store "+filepath.Base(dbPath+suffix), string(b))
		}
	}

	// The prompt a user previews before enabling an LLM.
	if infra.Location != nil {
		p, err := previewPrompt(d.Root, configDefault(), *infra)
		if err != nil {
			t.Fatal(err)
		}
		leak("the LLM prompt", p)
	}

	// The editor: diagnostics and hover from the real engine over LSP.
	diag, hover := lspView(t, d.Root, logs, d.Deploys, infra)
	leak("diagnostics", diag)
	leak("the hover", hover)
	if !strings.Contains(hover, "postgres://app:") {
		t.Errorf("hover does not show the incident's message:\n%s", hover)
	}
}

// lspView starts the language server with the real engine on root and
// returns every published diagnostic and the hover at inc's location.
func lspView(t *testing.T, root, logs, deploys string, inc *incident.Incident) (string, string) {
	t.Helper()
	srvSide, cliSide := net.Pipe()
	eng := newEngine(nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lsp.Serve(ctx, srvSide, lsp.Options{Engine: eng, PollInterval: time.Hour,
		ExtraSources: []configSource{{Kind: "file", Path: logs}}, Deploys: deploys})
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(cliSide))
	published := make(chan string, 16)
	conn.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == "textDocument/publishDiagnostics" {
			published <- string(req.Params())
		}
		return reply(ctx, nil, nil)
	})
	defer conn.Close()
	uri := "file://" + root
	if _, err := conn.Call(ctx, "initialize", map[string]any{"processId": 1, "rootUri": uri, "capabilities": map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	conn.Notify(ctx, "initialized", map[string]any{})
	var all strings.Builder
	file := filepath.Join(root, inc.Location.File)
	deadline := time.After(20 * time.Second)
	for !strings.Contains(all.String(), inc.Location.File) {
		select {
		case p := <-published:
			all.WriteString(p)
		case <-deadline:
			t.Fatalf("no diagnostics for %s; got %s", inc.Location.File, all.String())
		}
	}
	var h struct {
		Contents struct {
			Value string `json:"value"`
		} `json:"contents"`
	}
	if _, err := conn.Call(ctx, "textDocument/hover", map[string]any{
		"textDocument": map[string]string{"uri": "file://" + file},
		"position":     map[string]int{"line": inc.Location.Line - 1, "character": inc.Location.Column},
	}, &h); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(h)
	return all.String(), h.Contents.Value + string(b)
}

type configSource = config.Source

func configDefault() config.Config { return config.Default() }
