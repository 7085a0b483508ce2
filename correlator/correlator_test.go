package correlator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/correlator"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/telemetry"
)

const token = "s3cret-token"

// fixture is a correlator on a materialised scenario whose log file the
// test grows between polls.
type fixture struct {
	c     *correlator.Correlator
	srv   *httptest.Server
	logs  string // the file the correlator reads
	lines [][]byte
}

func newFixture(t *testing.T, name string) *fixture {
	t.Helper()
	s, err := scenario.Load(faultline.Scenarios, "testdata/scenarios/"+name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	made, err := s.Make(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, src, deploys := made.Repo, made.Logs, made.Deploys
	all, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{logs: filepath.Join(dir, "live.jsonl"), lines: bytes.SplitAfter(all, []byte("\n"))}
	f.grow(t, 0)
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.c, err = correlator.New(correlator.Config{
		Store:  st,
		Token:  token,
		Repos:  []correlator.Repo{{Name: "shop", Root: repo}},
		Inputs: []correlator.Input{{Source: telemetry.NewFileSource(f.logs, nil)}},
		Deploys: func(context.Context) ([]incident.Deploy, error) {
			b, err := os.Open(deploys)
			if err != nil {
				return nil, err
			}
			defer b.Close()
			ds, _, err := telemetry.ReadDeploys(b)
			return ds, err
		},
		Settle: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.c.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// grow writes the first n lines of the scenario's logs (all when n <= 0).
func (f *fixture) grow(t *testing.T, n int) {
	t.Helper()
	if n <= 0 || n > len(f.lines) {
		n = len(f.lines)
	}
	if err := os.WriteFile(f.logs, bytes.Join(f.lines[:n], nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) poll(t *testing.T) correlator.PollResult {
	t.Helper()
	r, err := f.c.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) get(t *testing.T, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestAuth(t *testing.T) {
	f := newFixture(t, "py-zerodiv")
	f.poll(t)
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/api/v1/incidents", "", http.StatusUnauthorized},
		{"/api/v1/incidents", "Bearer wrong", http.StatusUnauthorized},
		{"/api/v1/incidents", token, http.StatusUnauthorized}, // scheme missing
		{"/api/v1/incidents", "Bearer " + token, http.StatusOK},
		{"/api/v1/incidents/nope", "", http.StatusUnauthorized},
		{"/api/v1/incidents/nope", "Bearer " + token, http.StatusNotFound},
		{"/api/v1/incidents?since=yesterday", "Bearer " + token, http.StatusBadRequest},
		{"/api/v1/incidents?wait=forever", "Bearer " + token, http.StatusBadRequest},
		{"/healthz", "", http.StatusOK},
		{"/metrics", "", http.StatusOK},
	}
	for _, tc := range tests {
		resp, body := f.get(t, tc.path, map[string]string{"Authorization": tc.auth})
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %q = %d %s, want %d", tc.path, tc.auth, resp.StatusCode, body, tc.want)
		}
		if resp.StatusCode == http.StatusUnauthorized && bytes.Contains(body, []byte("incidents\":[")) {
			t.Errorf("GET %s: 401 carried incidents", tc.path)
		}
	}
}

func TestListGetAndETag(t *testing.T) {
	f := newFixture(t, "py-zerodiv")
	f.poll(t)
	auth := map[string]string{"Authorization": "Bearer " + token}
	resp, body := f.get(t, "/api/v1/incidents", auth)
	var list struct {
		Incidents []struct {
			incident.Incident
			Repo string `json:"repo"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Incidents) == 0 {
		t.Fatalf("list = %s, %v", body, err)
	}
	first := list.Incidents[0]
	if first.Repo != "shop" || first.Location == nil || first.RootCause == nil || first.Count == 0 {
		t.Errorf("incident lacks the check contract's content: %+v", first)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := f.get(t, "/api/v1/incidents", map[string]string{"Authorization": "Bearer " + token, "If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag = %d, want 304", resp.StatusCode)
	}
	// A poll that finds nothing new keeps the ETag: editors keep getting 304.
	f.poll(t)
	if resp, _ := f.get(t, "/api/v1/incidents", map[string]string{"Authorization": "Bearer " + token, "If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("after an idle poll = %d, want 304", resp.StatusCode)
	}
	resp, body = f.get(t, "/api/v1/incidents/"+first.ID, auth)
	var one incident.Incident
	if err := json.Unmarshal(body, &one); err != nil || resp.StatusCode != http.StatusOK || one.ID != first.ID || one.Count != first.Count {
		t.Errorf("get %s = %d %s", first.ID, resp.StatusCode, body)
	}
	for q, want := range map[string]int{"?service=" + first.Service: len(list.Incidents), "?service=nope": 0, "?repo=other": 0, "?since=1h": 0} {
		_, body := f.get(t, "/api/v1/incidents"+q, auth)
		var l struct{ Incidents []incident.Incident }
		json.Unmarshal(body, &l)
		if len(l.Incidents) != want {
			t.Errorf("list%s = %d incidents, want %d", q, len(l.Incidents), want)
		}
	}
}

// TestLongPollReturnsOnChange holds a request with the current ETag and a
// long wait, then makes a poll find new occurrences: the request must come
// back with the new state, not wait out its 60s.
func TestLongPollReturnsOnChange(t *testing.T) {
	f := newFixture(t, "py-zerodiv")
	f.grow(t, len(f.lines)/3)
	f.poll(t)
	incs, etag, _, err := telemetry.FetchIncidents(context.Background(), f.srv.URL, token, "")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		incs        []incident.Incident
		notModified bool
		err         error
	}
	done := make(chan answer, 1)
	go func() {
		incs, _, nm, err := telemetry.WaitIncidents(context.Background(), f.srv.URL, token, etag, time.Minute)
		done <- answer{incs, nm, err}
	}()
	f.grow(t, 0)
	f.poll(t)
	a := <-done
	if a.err != nil || a.notModified {
		t.Fatalf("long poll = notModified %v, %v; want the new incidents", a.notModified, a.err)
	}
	if total(a.incs) <= total(incs) {
		t.Errorf("long poll returned %d occurrences, had %d before the change", total(a.incs), total(incs))
	}
	// Nothing changes: a short wait ends in 304.
	_, _, nm, err := telemetry.WaitIncidents(context.Background(), f.srv.URL, token, etagOf(t, f), 50*time.Millisecond)
	if err != nil || !nm {
		t.Errorf("idle long poll = notModified %v, %v; want 304", nm, err)
	}
}

func etagOf(t *testing.T, f *fixture) string {
	_, etag, _, err := telemetry.FetchIncidents(context.Background(), f.srv.URL, token, "")
	if err != nil {
		t.Fatal(err)
	}
	return etag
}

func total(incs []incident.Incident) int {
	n := 0
	for _, i := range incs {
		n += i.Count
	}
	return n
}

func TestMetricsAndHealth(t *testing.T) {
	f := newFixture(t, "py-zerodiv")
	r := f.poll(t)
	f.poll(t)
	_, body := f.get(t, "/metrics", nil)
	for _, want := range []string{
		"faultline_correlator_polls_total 2",
		"faultline_correlator_poll_errors_total 0",
		"faultline_correlator_occurrences_ingested_total " + strconv.Itoa(r.New),
		"faultline_correlator_incidents " + strconv.Itoa(r.Incidents),
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r.New == 0 {
		t.Error("first poll ingested nothing")
	}
	_, body = f.get(t, "/healthz", nil)
	if !strings.Contains(string(body), `"status":"ok"`) || !strings.Contains(string(body), "last_poll") {
		t.Errorf("healthz = %s", body)
	}
}
