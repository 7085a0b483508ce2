package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
)

const sentryToken = "s3cret-token-value"

// sentryServer speaks the Sentry web API from testdata/sentry: two pages
// of issues linked by the Link header, and each issue's latest event (4502
// only under the organization-scoped path, as newer Sentry serves it).
type sentryServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newSentryServer(t *testing.T) *sentryServer {
	t.Helper()
	s := &sentryServer{}
	file := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", "sentry", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/0/projects/acme/checkout/issues/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("query") != "is:unresolved" {
			http.Error(w, `{"detail":"bad query"}`, http.StatusBadRequest)
			return
		}
		base := "http://evil.example/api/0/projects/acme/checkout/issues/"
		switch r.URL.Query().Get("cursor") {
		case "":
			w.Header().Set("Link", `<`+base+`?&cursor=1763635321000:0:1>; rel="previous"; results="false"; cursor="1763635321000:0:1", <`+base+`?&cursor=1763635321000:100:0>; rel="next"; results="true"; cursor="1763635321000:100:0"`)
			w.Write(file("issues_page1.json"))
		case "1763635321000:100:0":
			w.Header().Set("Link", `<`+base+`?&cursor=1763635321000:0:1>; rel="previous"; results="true"; cursor="1763635321000:0:1", <`+base+`?&cursor=1763635321000:200:0>; rel="next"; results="false"; cursor="1763635321000:200:0"`)
			w.Write(file("issues_page2.json"))
		default:
			http.Error(w, `{"detail":"bad cursor"}`, http.StatusBadRequest)
		}
	})
	mux.HandleFunc("GET /api/0/issues/{id}/events/latest/", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "4502" {
			http.Error(w, `{"detail":"The requested resource does not exist"}`, http.StatusNotFound)
			return
		}
		w.Write(file("event_" + r.PathValue("id") + ".json"))
	})
	mux.HandleFunc("GET /api/0/organizations/acme/issues/4502/events/latest/", func(w http.ResponseWriter, r *http.Request) {
		w.Write(file("event_4502.json"))
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+sentryToken {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"detail":"Invalid token"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func newSentry(t *testing.T, url, token string) *telemetry.Sentry {
	t.Helper()
	src, err := telemetry.NewSentry(telemetry.SentryConfig{URL: url, Org: "acme", Project: "checkout", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func fetchAll(t *testing.T, src telemetry.Source, q telemetry.Query) ([]incident.Event, telemetry.Stats, error) {
	t.Helper()
	var evs []incident.Event
	st, err := src.Fetch(context.Background(), q, func(e incident.Event) error {
		evs = append(evs, e)
		return nil
	})
	return evs, st, err
}

// TestSentrySource reads both pages, skips issues last seen outside the
// window, and delivers lines the ordinary stack parsers read back into the
// frames Sentry stored, innermost first.
func TestSentrySource(t *testing.T) {
	srv := newSentryServer(t)
	q := telemetry.Query{Start: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	evs, st, err := fetchAll(t, newSentry(t, srv.URL, sentryToken), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || st.Entries != 2 || st.Malformed != 1 {
		t.Fatalf("got %d events, stats %+v; want 2 events and the php issue counted malformed", len(evs), st)
	}
	if len(st.FirstProblems) != 1 || !strings.Contains(st.FirstProblems[0], `platform "php"`) {
		t.Errorf("problems %q", st.FirstProblems)
	}
	for _, p := range srv.paths {
		if strings.Contains(p, "4390") {
			t.Errorf("fetched the event of an issue outside the window: %s", p)
		}
	}
	cases := []struct {
		labels    map[string]string
		lang      string
		errType   string
		frames    []incident.Frame // innermost first, the application part
		chainType string
	}{
		{map[string]string{"service": "checkout", "env": "prod", "version": "v1.4.0", "sentry_issue": "4501", "sentry_count": "14", "sentry_first_seen": "2026-11-20T09:58:12Z"},
			"python", "KeyError",
			[]incident.Frame{{Path: "/app/shop/cart.py", Line: 12, Function: "total"}, {Path: "/app/shop/views.py", Line: 31, Function: "checkout"}},
			"shop.cache.ConnectionError"},
		{map[string]string{"service": "checkout", "env": "staging", "version": "checkout@2.3.1", "sentry_issue": "4502", "sentry_count": "3", "sentry_first_seen": "2026-11-20T10:01:00Z"},
			"node", "TypeError",
			[]incident.Frame{{Path: "/srv/app/src/cart.js", Line: 7, Column: 31, Function: "Cart.total"}, {Path: "/srv/app/src/routes.js", Line: 18, Column: 22, Function: "handle"}},
			""},
	}
	for i, c := range cases {
		e := evs[i]
		for k, v := range c.labels {
			if e.Labels[k] != v {
				t.Errorf("event %d label %s = %q, want %q", i, k, e.Labels[k], v)
			}
		}
		tr := parseLine(t, e)
		if tr.Language != c.lang || tr.ErrorType != c.errType {
			t.Errorf("event %d parsed as %s %q, want %s %q\nline: %s", i, tr.Language, tr.ErrorType, c.lang, c.errType, e.Line)
		}
		if len(tr.Frames) < len(c.frames) {
			t.Fatalf("event %d: %d frames, want at least %d: %+v", i, len(tr.Frames), len(c.frames), tr.Frames)
		}
		for j, want := range c.frames {
			got := tr.Frames[j]
			if got.Path != want.Path || got.Line != want.Line || got.Function != want.Function || (want.Column > 0 && got.Column != want.Column) {
				t.Errorf("event %d frame %d = %s:%d:%d %s, want %s:%d:%d %s", i, j, got.Path, got.Line, got.Column, got.Function, want.Path, want.Line, want.Column, want.Function)
			}
		}
		if c.chainType != "" && !chainHas(tr, c.chainType) {
			t.Errorf("event %d: cause %s lost; chain %+v", i, c.chainType, tr.Chain)
		}
		n, first, ok := telemetry.SentryCount(e.Labels)
		if !ok || n < 3 || first.IsZero() {
			t.Errorf("SentryCount(%v) = %d, %v, %v", e.Labels, n, first, ok)
		}
	}
}

func chainHas(tr incident.Trace, typ string) bool {
	for _, c := range tr.Chain {
		if c.ErrorType == typ || strings.HasPrefix(c.Message, typ) {
			return true
		}
	}
	return false
}

// parseLine runs the reassembler (and so the stack parsers) on one event.
func parseLine(t *testing.T, e incident.Event) incident.Trace {
	t.Helper()
	var got []reassemble.Occurrence
	r := reassemble.New(func(o reassemble.Occurrence) { got = append(got, o) })
	r.Add(e)
	r.Flush()
	if len(got) != 1 {
		t.Fatalf("line gave %d traces, want 1: %s", len(got), e.Line)
	}
	return got[0].Trace
}

// TestSentryAuthErrors: a refused token is one clear error that says what
// to do, and the token never appears in any error.
func TestSentryAuthErrors(t *testing.T) {
	srv := newSentryServer(t)
	_, _, err := fetchAll(t, newSentry(t, srv.URL, "wrong-token-123"), telemetry.Query{})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "SENTRY_AUTH_TOKEN") {
		t.Fatalf("err = %v; want a 401 naming SENTRY_AUTH_TOKEN", err)
	}
	if strings.Contains(err.Error(), "wrong-token-123") {
		t.Errorf("token leaked: %v", err)
	}

	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream broke; you sent "+r.Header.Get("Authorization"), http.StatusBadGateway)
	}))
	defer echo.Close()
	_, _, err = fetchAll(t, newSentry(t, echo.URL, sentryToken), telemetry.Query{})
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err = %v; want the 502", err)
	}
	if strings.Contains(err.Error(), sentryToken) {
		t.Errorf("token leaked: %v", err)
	}
}

func TestSentryCancelled(t *testing.T) {
	srv := newSentryServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSentry(t, srv.URL, sentryToken).Fetch(ctx, telemetry.Query{}, func(incident.Event) error { return nil })
	if err == nil {
		t.Fatal("a cancelled fetch succeeded")
	}
}

func TestNewSentryConfig(t *testing.T) {
	for _, cfg := range []telemetry.SentryConfig{
		{URL: "sentry.io", Org: "a", Project: "b"},
		{URL: "ftp://sentry.io", Org: "a", Project: "b"},
		{URL: "https://sentry.io", Project: "b"},
		{URL: "https://sentry.io", Org: "a"},
	} {
		if _, err := telemetry.NewSentry(cfg); err == nil {
			t.Errorf("NewSentry(%+v) accepted", cfg)
		}
	}
}

func TestSentryConfigFromURL(t *testing.T) {
	cases := []struct{ in, url, org, project string }{
		{"https://sentry.io/acme/checkout", "https://sentry.io", "acme", "checkout"},
		{"https://sentry.io/organizations/acme/projects/checkout/", "https://sentry.io", "acme", "checkout"},
		{"http://127.0.0.1:8000/glitchtip/acme/checkout", "http://127.0.0.1:8000/glitchtip", "acme", "checkout"},
		{"https://sentry.io/acme", "", "", ""},
		{"checkout", "", "", ""},
	}
	for _, c := range cases {
		cfg, err := telemetry.SentryConfigFromURL(c.in, "tok")
		if c.org == "" {
			if err == nil {
				t.Errorf("%s accepted as %+v", c.in, cfg)
			}
			continue
		}
		if err != nil || cfg.URL != c.url || cfg.Org != c.org || cfg.Project != c.project || cfg.Token != "tok" {
			t.Errorf("%s -> %+v, %v; want %s %s %s", c.in, cfg, err, c.url, c.org, c.project)
		}
	}
}
