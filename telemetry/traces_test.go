package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// traceStore serves /api/traces/{id} from testdata/traces files, as Tempo
// or Jaeger would: unknown ids are 404 (Jaeger with its JSON error body).
type traceStore struct {
	kind  string
	files map[string]string // trace id -> fixture file
	mu    sync.Mutex
	reqs  []*http.Request
}

func (s *traceStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Clone(context.Background()))
	s.mu.Unlock()
	id, ok := strings.CutPrefix(r.URL.Path, "/api/traces/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	file, ok := s.files[id]
	switch {
	case file == "500":
		http.Error(w, "internal error: querier unavailable", http.StatusInternalServerError)
		return
	case !ok && s.kind == "jaeger":
		file = "jaeger_not_found.json"
		w.WriteHeader(http.StatusNotFound)
	case !ok:
		http.Error(w, "trace not found", http.StatusNotFound)
		return
	}
	data, err := os.ReadFile(filepath.Join("testdata", "traces", file))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

const (
	w3cTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
	otherTrace = "0af7651916cd43dd8448eb211c80319c"
	thirdTrace = "d4cda95b652f4a1592b449d5929fda1b"
	payments   = "checkout → payments: POST /charge failed (status 500, 1.2s); innermost error in charge card: card processor timed out after 1s; the error started in payments"
)

func TestTracesEnrich(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		files   map[string]string
		ids     []string
		want    []string // evidence texts
		wantErr string
	}{
		{"tempo /api/traces batches, base64 ids, enum names", "tempo",
			map[string]string{w3cTrace: "tempo_batches.json"}, []string{w3cTrace},
			[]string{"trace 4bf92f35…: " + payments}, ""},
		{"OTLP resourceSpans, hex ids, numeric codes", "tempo",
			map[string]string{w3cTrace: "otlp_resource_spans.json"}, []string{w3cTrace},
			[]string{"trace 4bf92f35…: " + payments}, ""},
		{"jaeger", "jaeger",
			map[string]string{w3cTrace: "jaeger.json"}, []string{w3cTrace},
			[]string{"trace 4bf92f35…: " + payments}, ""},
		{"callee without spans: the client span names it", "tempo",
			map[string]string{otherTrace: "untraced_callee.json"}, []string{otherTrace},
			[]string{"trace 0af76519…: checkout → fraud: POST failed (status 503, 2s): 503 Service Unavailable; the error started in fraud (not traced)"}, ""},
		{"no span failed", "tempo", map[string]string{otherTrace: "healthy.json"}, []string{otherTrace}, nil, ""},
		{"404 from tempo", "tempo", nil, []string{w3cTrace}, nil, ""},
		{"404 from jaeger", "jaeger", nil, []string{w3cTrace}, nil, ""},
		{"the same story in two traces is told once", "tempo",
			map[string]string{w3cTrace: "tempo_batches.json", thirdTrace: "otlp_resource_spans.json"}, []string{w3cTrace, thirdTrace},
			[]string{"trace 4bf92f35…: " + payments + " (same in 2 traces)"}, ""},
		{"one readable trace is enough despite a failing one", "tempo",
			map[string]string{otherTrace: "500", w3cTrace: "tempo_batches.json"}, []string{otherTrace, w3cTrace},
			[]string{"trace 4bf92f35…: " + payments}, ""},
		{"truncated JSON", "tempo", map[string]string{w3cTrace: "truncated.json"}, []string{w3cTrace}, nil, "decode OTLP JSON"},
		{"malformed jaeger JSON", "jaeger", map[string]string{w3cTrace: "truncated.json"}, []string{w3cTrace}, nil, "decode Jaeger JSON"},
		{"server error", "tempo", map[string]string{w3cTrace: "500"}, []string{w3cTrace}, nil, "500 Internal Server Error"},
		{"ids that are not trace ids are not fetched", "tempo", nil, []string{"../../admin", "12345"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&traceStore{kind: tt.kind, files: tt.files})
			defer srv.Close()
			tr, err := NewTraces(TracesConfig{Kind: tt.kind, URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := tr.Enrich(context.Background(), incident.Incident{Service: "checkout", TraceIDs: tt.ids})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Enrich error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ev {
				if e.Kind != "trace" {
					t.Errorf("evidence kind %q, want trace", e.Kind)
				}
				got = append(got, e.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("evidence\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTracesRequests(t *testing.T) {
	store := &traceStore{kind: "tempo", files: map[string]string{w3cTrace: "tempo_batches.json"}}
	srv := httptest.NewServer(store)
	defer srv.Close()
	tr, err := NewTraces(TracesConfig{Kind: "tempo", URL: srv.URL + "/", OrgID: "team-a", MaxTraces: 2})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{strings.ToUpper(w3cTrace), otherTrace, thirdTrace}
	if _, err := tr.Enrich(context.Background(), incident.Incident{TraceIDs: ids}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range store.reqs {
		paths = append(paths, r.URL.Path)
		if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("Accept") != "application/json" {
			t.Errorf("request headers %v: want X-Scope-OrgID team-a and Accept application/json", r.Header)
		}
	}
	want := []string{"/api/traces/" + w3cTrace, "/api/traces/" + otherTrace}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("requests %q, want the first MaxTraces ids, lower-cased: %q", paths, want)
	}
}

func TestNewTracesRejects(t *testing.T) {
	for _, cfg := range []TracesConfig{{Kind: "zipkin", URL: "http://127.0.0.1:1"}, {Kind: "tempo", URL: "127.0.0.1:3200"}} {
		if _, err := NewTraces(cfg); err == nil {
			t.Errorf("NewTraces(%+v) accepted a bad config", cfg)
		}
	}
}
