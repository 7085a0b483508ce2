package main

import (
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
