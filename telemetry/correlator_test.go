package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestFetchIncidents drives the client against answers a correlator (or
// something in its place) may give.
func TestFetchIncidents(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		etag        string // sent by the client
		wantIDs     string
		wantNM      bool
		wantErrPart string
	}{
		{name: "list", status: 200, body: `{"incidents":[{"id":"a1","count":3,"repo":"shop"},{"id":"b2","count":1}]}`, wantIDs: "a1,b2"},
		{name: "empty", status: 200, body: `{"incidents":[]}`, wantIDs: ""},
		{name: "not modified", status: 304, etag: `"v1"`, wantNM: true},
		{name: "unauthorized", status: 401, body: `{"error":"missing or wrong bearer token"}`, wantErrPart: "FAULTLINE_CORRELATOR_TOKEN"},
		{name: "server error", status: 503, body: `{"error":"read store: down"}`, wantErrPart: "read store: down"},
		{name: "malformed", status: 200, body: `{"incidents":[{"id":`, wantErrPart: "read incidents"},
		{name: "wrong shape", status: 200, body: `{"incidents":{"id":"a"}}`, wantErrPart: "read incidents"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/incidents" || r.URL.Query().Get("service") != "checkout" {
					t.Errorf("request %s, want the list path with the filter kept", r.URL)
				}
				if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("If-None-Match") != tc.etag {
					t.Errorf("headers %v", r.Header)
				}
				w.Header().Set("ETag", `"v2"`)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			incs, etag, nm, err := FetchIncidents(context.Background(), srv.URL+"/?service=checkout", "tok", tc.etag)
			if tc.wantErrPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrPart) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErrPart)
				}
				if strings.Contains(err.Error(), "tok\"") || strings.Contains(err.Error(), "Bearer") {
					t.Errorf("error leaks the token: %v", err)
				}
				return
			}
			if err != nil || nm != tc.wantNM {
				t.Fatalf("notModified %v, err %v", nm, err)
			}
			var ids []string
			for _, i := range incs {
				ids = append(ids, i.ID)
			}
			if got := strings.Join(ids, ","); got != tc.wantIDs {
				t.Errorf("ids %q, want %q", got, tc.wantIDs)
			}
			for _, i := range incs {
				if want := srv.URL + "/api/v1/incidents/" + i.ID; i.Link != want {
					t.Errorf("link %q, want %q (the editor opens it from the diagnostic code)", i.Link, want)
				}
			}
			if !nm && etag != `"v2"` {
				t.Errorf("etag %q", etag)
			}
		})
	}
}

func TestFetchIncidentsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "not a url", "http://"} {
		if _, _, _, err := FetchIncidents(context.Background(), u, "t", ""); err == nil {
			t.Errorf("%q: no error", u)
		}
	}
}

// TestCorrelatorSourceCachesByETag: re-created sources (the engine builds
// them each poll) share the ETag, so an unchanged set costs a 304 and the
// caller still gets the incidents.
func TestCorrelatorSourceCachesByETag(t *testing.T) {
	var full, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"same"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", `"same"`)
		w.Write([]byte(`{"incidents":[{"id":"a1","count":2}]}`))
	}))
	defer srv.Close()
	for i := 0; i < 3; i++ {
		src := NewCorrelator(srv.URL, "t")
		var _ Source = src
		incs, err := src.Incidents(context.Background())
		if err != nil || len(incs) != 1 || incs[0].ID != "a1" || incs[0].Count != 2 {
			t.Fatalf("poll %d: %v, %v", i, incs, err)
		}
	}
	if full.Load() != 1 || notModified.Load() != 2 {
		t.Errorf("full answers %d, 304s %d; want 1 and 2", full.Load(), notModified.Load())
	}
}
