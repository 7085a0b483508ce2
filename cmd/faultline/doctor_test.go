package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// doctorEnv is a demo workspace with its production logs and deploys.
type doctorEnv struct {
	repo, logs, deploys string
}

func newDoctorEnv(t *testing.T) doctorEnv {
	t.Helper()
	ms := makeScenario(t, "demo")
	return doctorEnv{ms.repo, ms.logs, ms.deploys}
}

// requireToken puts Loki behind a bearer token, as a gateway would.
func requireToken(t *testing.T, loki *lokitest.Server, token string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no org id or invalid token", http.StatusUnauthorized)
			return
		}
		loki.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// row is one line of the doctor's table.
type row struct{ check, status, detail, fix string }

var columns = regexp.MustCompile(`\s{2,}`)

func parseTable(t *testing.T, out string) []row {
	t.Helper()
	var rows []row
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 {
			continue // header
		}
		f := columns.Split(strings.TrimSpace(l), 4)
		for len(f) < 4 {
			f = append(f, "")
		}
		rows = append(rows, row{f[0], f[1], f[2], f[3]})
	}
	return rows
}

func TestDoctor(t *testing.T) {
	env := newDoctorEnv(t)
	full := lokitest.New()
	defer full.Close()
	start, end := pushFile(t, full.URL, env.logs)
	window := []string{"--start", start.Format(time.RFC3339), "--end", end.Add(time.Second).Format(time.RFC3339)}

	empty := lokitest.New()
	defer empty.Close()

	plain := lokitest.New()
	defer plain.Close()
	plainLogs := filepath.Join(t.TempDir(), "plain.jsonl")
	os.WriteFile(plainLogs, []byte(`{"labels":{"service":"checkout","env":"prod"},"line":"GET /cart 200 12ms","timestamp":"2026-11-20T10:42:01Z"}
{"labels":{"service":"checkout","env":"prod"},"line":"POST /checkout 200 48ms","timestamp":"2026-11-20T10:42:02Z"}
`), 0o644)
	pStart, pEnd := pushFile(t, plain.URL, plainLogs)
	plainWindow := []string{"--start", pStart.Format(time.RFC3339), "--end", pEnd.Add(time.Second).Format(time.RFC3339)}

	guarded := requireToken(t, full, "s3cret")
	emptyRepo := t.TempDir()

	type want struct{ check, status, text string } // text: in detail or fix
	tests := []struct {
		name    string
		token   string
		args    []string
		wantErr bool
		want    []want
	}{
		{"all ok", "", append([]string{"--repo", env.repo, "--source", "loki:" + full.URL, "--deploys", env.deploys}, window...), false,
			[]want{{"git", "ok", "HEAD "}, {": reachable", "ok", ""}, {": auth", "ok", ""}, {": entries", "ok", " entries between "},
				{": stack traces", "ok", " incidents"}, {": mapping", "ok", "map into the workspace"}, {"deploys", "ok", "deploy events"}}},
		{"loki down", "", []string{"--repo", env.repo, "--source", "loki:" + closedPort(t), "--deploys", env.deploys}, true,
			[]want{{": reachable", "fail", "connection refused"}, {": reachable", "fail", "start Loki or fix the URL"}}},
		{"401 without a token", "", append([]string{"--repo", env.repo, "--source", "loki:" + guarded, "--deploys", env.deploys}, window...), true,
			[]want{{": reachable", "ok", ""}, {": auth", "fail", "401 from Loki"}, {": auth", "fail", "set FAULTLINE_LOKI_TOKEN"}}},
		{"the token is accepted", "s3cret", append([]string{"--repo", env.repo, "--source", "loki:" + guarded, "--deploys", env.deploys}, window...), false,
			[]want{{": auth", "ok", ""}, {": mapping", "ok", ""}}},
		{"no entries", "", []string{"--repo", env.repo, "--source", "loki:" + empty.URL, "--deploys", env.deploys}, true,
			[]want{{": entries", "fail", "no entries in the last 24h"}, {": entries", "fail", "widen --since"}}},
		{"entries without stack traces", "", append([]string{"--repo", env.repo, "--source", "loki:" + plain.URL, "--deploys", env.deploys}, plainWindow...), false,
			[]want{{": entries", "ok", "2 entries"}, {": stack traces", "warn", "no stack trace"}}},
		{"traces that map nowhere", "", []string{"--repo", emptyRepo, "--logs", env.logs, "--deploys", env.deploys}, true,
			[]want{{"git", "warn", "not a git repository"}, {": stack traces", "ok", ""}, {": mapping", "fail", "add path_rules (see faultline explain)"}}},
		{"no source", "", []string{"--repo", env.repo}, true,
			[]want{{"sources", "fail", "give --logs FILE or --source loki:URL"}, {"deploys", "warn", "no deploy events"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FAULTLINE_LOKI_TOKEN", tt.token)
			var stdout, stderr bytes.Buffer
			err := runDoctor(context.Background(), tt.args, &stdout, &stderr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("runDoctor error = %v, want error: %v\n%s", err, tt.wantErr, stdout.String())
			}
			t.Logf("faultline doctor %s\n%s", strings.Join(tt.args, " "), stdout.String())
			rows := parseTable(t, stdout.String())
			for _, w := range tt.want {
				found := false
				for _, r := range rows {
					if strings.Contains(r.check, w.check) && r.status == w.status && strings.Contains(r.detail+" | "+r.fix, w.text) {
						found = true
					}
				}
				if !found {
					t.Errorf("no row %q with status %s mentioning %q in\n%s", w.check, w.status, w.text, stdout.String())
				}
			}
			if !tt.wantErr {
				for _, r := range rows {
					if r.status == "fail" {
						t.Errorf("unexpected failure %+v", r)
					}
				}
			}
		})
	}
}

func TestDoctorBackends(t *testing.T) {
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"http_requests_total"},"value":[1763635200,"12"]}]}}`))
	}))
	defer prom.Close()
	tempo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("echo"))
	}))
	defer tempo.Close()
	var stdout bytes.Buffer
	err := runDoctor(context.Background(), []string{"--repo", t.TempDir(), "--prometheus", prom.URL, "--traces", "tempo:" + tempo.URL}, &stdout, &bytes.Buffer{})
	if err == nil {
		t.Fatalf("doctor passed with no source and a refused tempo token:\n%s", stdout.String())
	}
	out := stdout.String()
	for _, w := range []string{"http_requests_total", "401 from tempo", "set FAULTLINE_TRACES_TOKEN"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestEnrichers(t *testing.T) {
	es, err := enrichers("http://127.0.0.1:9090", "jaeger:http://127.0.0.1:16686")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Name() != "prometheus:http://127.0.0.1:9090" || es[1].Name() != "jaeger:http://127.0.0.1:16686" {
		t.Errorf("enrichers = %v", es)
	}
	if es, err := enrichers("", ""); err != nil || len(es) != 0 {
		t.Errorf("no flags: %v, %v; want none", es, err)
	}
	for _, bad := range [][2]string{{"127.0.0.1:9090", ""}, {"", "zipkin:http://x"}, {"", "http://127.0.0.1:3200"}} {
		if _, err := enrichers(bad[0], bad[1]); err == nil {
			t.Errorf("enrichers(%q, %q) accepted a bad flag", bad[0], bad[1])
		}
	}
}
