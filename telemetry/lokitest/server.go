// Package lokitest is an in-memory fake of Loki's HTTP API for tests:
// POST /loki/api/v1/push (protobuf+snappy and JSON, as agents send),
// GET /loki/api/v1/query_range (forward and backward, limit honoured exactly
// as Loki does: a page is cut at limit even among equal timestamps) and the
// /loki/api/v1/tail websocket. Entries keep the structured metadata pushed
// with them; query_range answers as Loki 3 does: merged into each entry's
// stream labels (so one stream splits into as many results as it has
// metadata sets), or, when the request carries the header
// X-Loki-Response-Encoding-Flags: categorize-labels, apart, as a third
// element of each value ({"structuredMetadata":{...}} or {}), the stream
// holding only its own labels. Faults can be injected to exercise clients'
// retry and timeout handling.
package lokitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// Entry is one stored log entry.
type Entry struct {
	Labels map[string]string
	Time   time.Time
	Line   string
	// Metadata is the entry's structured metadata (Loki 3 adds
	// detected_level to every entry by default).
	Metadata map[string]string
	key      string
	seq      int
}

// Fault is an injected answer to the next query_range request.
type Fault struct {
	Status     int    // HTTP status to answer with (when not Hang or Truncate)
	RetryAfter string // Retry-After header value
	Body       string
	// Hang holds the request until the client gives up.
	Hang bool
	// Truncate answers 200 with the real response cut in half.
	Truncate bool
}

// Request records what a client sent.
type Request struct {
	Path   string
	Query  map[string]string
	Header http.Header
}

// Server is the fake Loki. Start one with New; Close it when done.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	entries  []Entry
	ids      map[string]bool
	faults   []Fault
	requests []Request
	notify   chan struct{} // closed and replaced on every push
	// TailDisabled makes the tail endpoint answer 404, as behind a proxy
	// that does not pass websockets.
	TailDisabled bool
	// MaxEntriesLimit, when set, is the server's max_entries_limit_per_query:
	// a query_range with a larger limit is refused with Loki's 400.
	MaxEntriesLimit int
}

// New starts a fake Loki on 127.0.0.1.
func New() *Server {
	s := &Server{ids: map[string]bool{}, notify: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /loki/api/v1/push", s.handlePush)
	mux.HandleFunc("GET /loki/api/v1/query_range", s.handleQueryRange)
	mux.HandleFunc("GET /loki/api/v1/tail", s.handleTail)
	s.Server = httptest.NewServer(mux)
	return s
}

// InjectFaults queues answers for the next query_range requests.
func (s *Server) InjectFaults(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Requests returns the query_range and tail requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Entries returns a copy of everything stored, in push order.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

func (s *Server) record(r *http.Request) {
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = v[0]
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, Query: q, Header: r.Header.Clone()})
	s.mu.Unlock()
}

// add stores entries, dropping exact duplicates (same stream, time and
// line) as Loki's ingester does, and wakes tail subscribers.
func (s *Server) add(labels map[string]string, key string, ts time.Time, line string, meta map[string]string) {
	id := fmt.Sprintf("%s\x00%d\x00%s", key, ts.UnixNano(), line)
	if s.ids[id] {
		return
	}
	s.ids[id] = true
	s.entries = append(s.entries, Entry{Labels: labels, Time: ts, Line: line, Metadata: meta, key: key, seq: len(s.entries)})
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var streams []pushedStream
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		streams, err = decodeJSONPush(body)
	} else {
		streams, err = decodeProtoPush(body)
	}
	if err != nil {
		http.Error(w, "push: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, ps := range streams {
		key := labelsKey(ps.labels)
		for _, e := range ps.entries {
			var meta map[string]string
			for _, m := range e.StructuredMetadata {
				if meta == nil {
					meta = map[string]string{}
				}
				meta[m.Name] = m.Value
			}
			s.add(ps.labels, key, e.Timestamp, e.Line, meta)
		}
	}
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type pushedStream struct {
	labels  map[string]string
	entries []push.Entry
}

func decodeProtoPush(body []byte) ([]pushedStream, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("protobuf: %w", err)
	}
	out := make([]pushedStream, 0, len(req.Streams))
	for _, st := range req.Streams {
		labels, err := parseLabels(st.Labels)
		if err != nil {
			return nil, err
		}
		out = append(out, pushedStream{labels, st.Entries})
	}
	return out, nil
}

func decodeJSONPush(body []byte) ([]pushedStream, error) {
	var req struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	var out []pushedStream
	for _, st := range req.Streams {
		ps := pushedStream{labels: st.Stream}
		for _, v := range st.Values {
			var ts, line string
			if len(v) < 2 || json.Unmarshal(v[0], &ts) != nil || json.Unmarshal(v[1], &line) != nil {
				return nil, fmt.Errorf("bad value %s", v)
			}
			n, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad timestamp %q", ts)
			}
			e := push.Entry{Timestamp: time.Unix(0, n), Line: line}
			if len(v) > 2 { // structured metadata: {"name":"value",...}
				var meta map[string]string
				if err := json.Unmarshal(v[2], &meta); err != nil {
					return nil, fmt.Errorf("bad structured metadata %s", v[2])
				}
				for k, val := range meta {
					e.StructuredMetadata = append(e.StructuredMetadata, push.LabelAdapter{Name: k, Value: val})
				}
			}
			ps.entries = append(ps.entries, e)
		}
		out = append(out, ps)
	}
	return out, nil
}

// labelsKey renders labels in Loki's canonical sorted form.
func labelsKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(l[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// parseTime reads a query time as Loki does: nanoseconds, float seconds or
// RFC3339.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(0, n), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(0, int64(f*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
