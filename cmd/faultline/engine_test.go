package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/lsp"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// TestConfigEnrichers: prometheus and traces entries of .faultline.yaml
// become evidence backends, not log sources, and a bad one is reported.
func TestConfigEnrichers(t *testing.T) {
	cfg := config.Config{Sources: []config.Source{
		{Kind: config.KindFile, Path: "x.jsonl"},
		{Kind: config.KindPrometheus, URL: "http://127.0.0.1:9090"},
		{Kind: config.KindTraces, URL: "http://127.0.0.1:3200"},
		{Kind: config.KindTraces, URL: "jaeger:http://127.0.0.1:16686"},
		{Kind: config.KindTraces, URL: "zipkin:http://127.0.0.1:9411"},
	}}
	es, problems := configEnrichers(cfg)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	got := strings.Join(names, " ")
	for _, want := range []string{"prometheus:", "tempo:", "jaeger:"} {
		if !strings.Contains(got, want) {
			t.Errorf("enrichers %q lack %s", got, want)
		}
	}
	if len(es) != 3 || len(problems) != 1 {
		t.Errorf("%d enrichers, %d problems (%v); want 3 and 1 (the zipkin entry)", len(es), len(problems), problems)
	}
	srcs, _, probs := buildSources(t.TempDir(), cfg, nil)
	if len(srcs) != 1 || len(probs) != 0 {
		t.Errorf("log sources = %d, problems %v: evidence backends must not be read as logs", len(srcs), probs)
	}
}

// TestGitHubDeployments: with github.repo configured and GITHUB_TOKEN set,
// the deployments GitHub records are deploy events (here from a local
// server speaking the Deployments API).
func TestGitHubDeployments(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/acme/checkout/deployments", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer test-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `[{"id":7,"sha":"3bb0bfad52a7c1f0b7e1c2d3e4f5a6b7c8d9e0f1","ref":"v1.4.0","task":"deploy","environment":"prod",
			"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:05:00Z","payload":{}}]`)
	})
	mux.HandleFunc("GET /api/v3/repos/acme/checkout/deployments/7/statuses", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"id":70,"state":"success","environment":"prod","created_at":"2026-11-20T10:05:00Z"}]`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("GITHUB_TOKEN", "test-token")
	cfg := config.Config{GitHub: config.GitHub{Repo: "acme/checkout", BaseURL: srv.URL + "/api/v3/"}}
	_, deploys, problems := buildSources(t.TempDir(), cfg, nil)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems[0].err)
	}
	if len(deploys) != 1 || deploys[0].Version != "v1.4.0" || deploys[0].Env != "prod" ||
		!strings.HasPrefix(deploys[0].Commit, "3bb0bfa") {
		t.Fatalf("deploys = %+v", deploys)
	}
	t.Setenv("GITHUB_TOKEN", "")
	if _, deploys, _ := buildSources(t.TempDir(), cfg, nil); len(deploys) != 0 {
		t.Errorf("no token, yet deploys were read: %+v", deploys)
	}
}

// TestBranchOnly: with branch_only: main the editor shows only incidents in
// files the current branch changed.
func TestBranchOnly(t *testing.T) {
	d, err := buildDemo(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = d.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("checkout", "-q", "-b", "topic")
	f, err := os.OpenFile(filepath.Join(d.Root, "shipping/rates.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n// touched on the branch\n")
	f.Close()
	git("commit", "-q", "-am", "topic: shipping")

	cfg := config.Default()
	cfg.Sources = []config.Source{{Kind: "file", Path: d.Logs}}
	cfg.Deploys = d.Deploys
	all, err := newEngine(nil, 0).Analyze(context.Background(), d.Root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BranchOnly = "main"
	mine, err := newEngine(nil, 0).Analyze(context.Background(), d.Root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Incidents) != 3 || len(mine.Incidents) != 1 || mine.Incidents[0].Location.File != "shipping/rates.go" {
		t.Fatalf("all %d incidents, branch-only %+v; want the shipping/rates.go one alone", len(all.Incidents), mine.Incidents)
	}
}

// TestFoldersShareOneQuery: two workspace folders reading the same Loki
// cost one query per poll, not one per folder, and each gets its own
// incidents.
func TestFoldersShareOneQuery(t *testing.T) {
	a, err := buildDemo(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildDemo(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := lokitest.New()
	defer srv.Close()
	start, end := pushFile(t, srv.URL, a.Logs)
	e := newEngine(nil, 0)
	cfg := config.Default()
	cfg.Sources = []config.Source{{Kind: "loki", URL: srv.URL, Selector: `{service="checkout"}`}}
	cfg.Deploys = a.Deploys
	e.window = time.Since(start) + time.Hour // the pushed entries are in the past
	_ = end

	queries := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if strings.HasSuffix(r.Path, "/query_range") {
				n++
			}
		}
		return n
	}
	poll := func(root string) lsp.Result {
		res, err := e.Analyze(context.Background(), root, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// The language server registers every folder at initialize.
	e.Register(a.Root, cfg)
	e.Register(b.Root, cfg)
	for round := 1; round <= 2; round++ {
		before := queries()
		poll(a.Root)
		poll(b.Root)
		if got := queries() - before; got != 1 {
			t.Errorf("poll %d of two folders made %d queries, want 1", round, got)
		}
	}
	ra := poll(a.Root)
	rb := poll(b.Root)
	if len(ra.Incidents) != 3 || len(rb.Incidents) != 3 {
		t.Errorf("incidents: %d in a, %d in b; want 3 each", len(ra.Incidents), len(rb.Incidents))
	}
}
