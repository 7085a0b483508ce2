package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/config"
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
