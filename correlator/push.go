package correlator

// Push ingestion: agents (Promtail, Alloy, the OpenTelemetry Collector,
// Fluent Bit) send a second copy of their log streams to the correlator,
// which then learns of a crash when it is logged rather than at the next
// poll. An accepted push is written to the store's pushed_entries table
// before it is acknowledged and processed from there by the worker
// (pushworker.go), so a crash right after the 204 loses nothing and a
// re-sent batch inserts nothing new.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/telemetry"
)

// Push API paths: Loki's push endpoint and OTLP/HTTP logs.
const (
	PathLokiPush = "/loki/api/v1/push"
	PathOTLPLogs = "/v1/logs"
)

// TenantHeader names the tenant of a push, as Loki's.
const TenantHeader = "X-Scope-OrgID"

// PushConfig bounds the push endpoints. Zero fields take the defaults.
type PushConfig struct {
	// MaxBodyBytes caps a request body after decompression (413 above it).
	// Default 8 MiB.
	MaxBodyBytes int64
	// MaxQueue caps the entries accepted but not yet analysed, and
	// MaxQueueBytes their lines' bytes: a push that would pass either is
	// answered 429 with Retry-After, so memory and the backlog stay bounded
	// and the agent keeps the entries until there is room. Defaults 100000
	// entries, 64 MiB.
	MaxQueue      int
	MaxQueueBytes int64
	// FlushAfter closes a stream's open trace when no entry of the stream
	// arrived for this long: the lines of one crash arrive together, so a
	// quiet stream's trace is complete. Default 300ms.
	FlushAfter time.Duration
	// MaxStreamEntries caps the entries one stream holds while a trace may
	// still be open; at the cap the stream is flushed. Default 5000.
	MaxStreamEntries int
	// RetryAfter is what a 429 asks agents to wait. Default 1s.
	RetryAfter time.Duration
	// Retention keeps processed entries (their keys deduplicate re-sent
	// batches) this long. Default 24h.
	Retention time.Duration
}

func (p *PushConfig) defaults() {
	if p.MaxBodyBytes <= 0 {
		p.MaxBodyBytes = 8 << 20
	}
	if p.MaxQueue <= 0 {
		p.MaxQueue = 100000
	}
	if p.MaxQueueBytes <= 0 {
		p.MaxQueueBytes = 64 << 20
	}
	if p.FlushAfter <= 0 {
		p.FlushAfter = 300 * time.Millisecond
	}
	if p.MaxStreamEntries <= 0 {
		p.MaxStreamEntries = 5000
	}
	if p.RetryAfter <= 0 {
		p.RetryAfter = time.Second
	}
	if p.Retention <= 0 {
		p.Retention = 24 * time.Hour
	}
}

// pusher accepts pushes and hands them to its worker.
type pusher struct {
	c   *Correlator
	log store.PushLog // nil when the store keeps no push log: 501
	cfg PushConfig

	appendMu sync.Mutex // store write + enqueue, so the queue is in seq order
	mu       sync.Mutex
	queue    []queued      // accepted, not yet taken by the worker
	held     int           // entries accepted and not yet marked processed
	heldB    int64         // and their bytes
	wake     chan struct{} // cap 1: the worker has work
	ready    chan struct{} // closed once the worker replayed the store's backlog

	received, duplicates, rejected prometheus.Counter
	queueGauge                     prometheus.GaugeFunc
}

// queued is one accepted entry on its way to the analysis.
type queued struct {
	seq    int64
	stream string // tenant + labels: entries of one stream are reassembled together
	ev     incident.Event
}

func newPusher(c *Correlator) *pusher {
	p := &pusher{c: c, cfg: c.cfg.Push, wake: make(chan struct{}, 1), ready: make(chan struct{})}
	p.cfg.defaults()
	p.log, _ = c.cfg.Store.(store.PushLog)
	p.received = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "faultline_correlator_push_entries_total", Help: "Pushed log entries stored for analysis."})
	p.duplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "faultline_correlator_push_duplicates_total", Help: "Pushed log entries already stored (re-sent batches)."})
	p.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "faultline_correlator_push_rejected_total", Help: "Pushes answered 429 because the queue was full."})
	p.queueGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_correlator_push_queue_entries", Help: "Pushed entries accepted and not yet analysed."},
		func() float64 { n, _ := p.pending(); return float64(n) })
	c.metrics.reg.MustRegister(p.received, p.duplicates, p.rejected, p.queueGauge)
	return p
}

func (p *pusher) routes(mux *http.ServeMux, auth func(http.Handler) http.Handler) {
	mux.Handle("POST "+PathLokiPush, auth(http.HandlerFunc(p.handleLoki)))
	mux.Handle("POST "+PathOTLPLogs, auth(http.HandlerFunc(p.handleOTLP)))
}

// pending returns the entries and bytes accepted and not yet processed.
func (p *pusher) pending() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held, p.heldB
}

// reserve takes room for n entries of b bytes, or reports the queue full.
// force takes it regardless (entries replayed from the store).
func (p *pusher) reserve(n int, b int64, force bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !force && p.held > 0 && (p.held+n > p.cfg.MaxQueue || p.heldB+b > p.cfg.MaxQueueBytes) {
		return false
	}
	p.held += n
	p.heldB += b
	return true
}

func (p *pusher) unreserve(n int, b int64) {
	p.mu.Lock()
	p.held -= n
	p.heldB -= b
	p.mu.Unlock()
}

// pushError is a failed push: the status to answer and why.
type pushError struct {
	code int
	msg  string
}

func (e *pushError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &pushError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// accept stores entries and queues the new ones. It returns nil only when
// they are committed: the caller may then acknowledge the push.
func (p *pusher) accept(ctx context.Context, entries []store.PushedEntry) error {
	if p.log == nil {
		return &pushError{http.StatusNotImplemented, "this store keeps no push log"}
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return &pushError{http.StatusServiceUnavailable, "correlator starting"}
	}
	if len(entries) == 0 {
		return nil
	}
	var size int64
	for _, e := range entries {
		size += int64(len(e.Line))
	}
	if !p.reserve(len(entries), size, false) {
		p.rejected.Inc()
		return &pushError{http.StatusTooManyRequests, "ingest queue full, retry later"}
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	fresh, err := p.log.AppendPushed(ctx, entries, p.c.cfg.Now())
	if err != nil {
		p.unreserve(len(entries), size)
		return &pushError{http.StatusServiceUnavailable, err.Error()}
	}
	var freshSize int64
	for _, e := range fresh {
		freshSize += int64(len(e.Line))
	}
	p.unreserve(len(entries)-len(fresh), size-freshSize)
	p.received.Add(float64(len(fresh)))
	p.duplicates.Add(float64(len(entries) - len(fresh)))
	p.enqueue(fresh)
	return nil
}

// enqueue hands stored entries to the worker.
func (p *pusher) enqueue(entries []store.PushedEntry) {
	if len(entries) == 0 {
		return
	}
	q := make([]queued, 0, len(entries))
	var lastLabels map[string]string
	var stream string
	for _, e := range entries {
		if !sameLabels(e.Labels, lastLabels) {
			lastLabels, stream = e.Labels, e.Tenant+"\x00"+incident.LabelsKey(e.Labels)
		}
		q = append(q, queued{seq: e.Seq, stream: stream,
			ev: incident.Event{Time: e.Time, Labels: e.Labels, Line: e.Line, Origin: "push"}})
	}
	p.mu.Lock()
	p.queue = append(p.queue, q...)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// sameLabels reports whether two label maps are equal; entries of one
// pushed stream share one map, so this is usually the length check and a
// short loop.
func sameLabels(a, b map[string]string) bool {
	if a == nil || b == nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// answerPush writes the outcome of a push the way agents expect: 204 (or
// ok), 429/503 with Retry-After so they retry, 4xx with the reason.
func (p *pusher) answerPush(w http.ResponseWriter, err error, ok func(http.ResponseWriter)) {
	if err == nil {
		ok(w)
		return
	}
	var pe *pushError
	if !errors.As(err, &pe) {
		pe = &pushError{http.StatusBadRequest, err.Error()}
	}
	if pe.code == http.StatusTooManyRequests || pe.code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(p.cfg.RetryAfter.Round(time.Second)/time.Second))))
	}
	writeError(w, pe.code, pe.msg)
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func (p *pusher) handleLoki(w http.ResponseWriter, r *http.Request) {
	entries, err := p.decodeLoki(r)
	if err == nil {
		err = p.accept(r.Context(), entries)
	}
	p.answerPush(w, err, noContent)
}

// decodeLoki reads a Loki push request: protobuf+snappy (the agents'
// default) or JSON, optionally gzip-encoded.
func (p *pusher) decodeLoki(r *http.Request) ([]store.PushedEntry, error) {
	ct, err := mediaType(r)
	if err != nil {
		return nil, err
	}
	body, err := readBody(r, p.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	tenant, err := tenantOf(r)
	if err != nil {
		return nil, err
	}
	var req push.PushRequest
	switch ct {
	case "application/json":
		if err := decodeLokiJSON(body, &req); err != nil {
			return nil, err
		}
	case "application/x-protobuf", "application/octet-stream", "":
		n, err := snappy.DecodedLen(body)
		if err != nil {
			return nil, badRequest("snappy: %v", err)
		}
		if int64(n) > p.cfg.MaxBodyBytes {
			return nil, tooLarge(p.cfg.MaxBodyBytes)
		}
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			return nil, badRequest("snappy: %v", err)
		}
		if err := req.Unmarshal(raw); err != nil {
			return nil, badRequest("protobuf: %v", err)
		}
	default:
		return nil, &pushError{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: want application/x-protobuf or application/json", ct)}
	}
	var out []store.PushedEntry
	for i, st := range req.Streams {
		labels, err := parseLabelSet(st.Labels)
		if err != nil {
			return nil, badRequest("stream %d: %v", i, err)
		}
		out = appendEntries(out, tenant, labels, st.Entries)
	}
	return out, nil
}

// appendEntries turns one stream's entries into store entries, with the
// labels normalised as every other source's are.
func appendEntries(out []store.PushedEntry, tenant string, labels map[string]string, entries []push.Entry) []store.PushedEntry {
	labels = telemetry.NormalizeLabels(labels)
	key := incident.LabelsKey(labels)
	for _, e := range entries {
		line := cleanText(e.Line)
		if strings.TrimSpace(line) == "" {
			continue
		}
		out = append(out, store.PushedEntry{Key: store.PushedKey(tenant, key, e.Timestamp, line),
			Tenant: tenant, Labels: labels, Time: e.Timestamp.UTC(), Line: line})
	}
	return out
}

// cleanText makes a line storable in both dialects (PostgreSQL's TEXT
// takes neither NUL nor invalid UTF-8).
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// decodeLokiJSON reads {"streams":[{"stream":{..},"values":[["ns","line"(,{meta})],..]}]}.
func decodeLokiJSON(body []byte, req *push.PushRequest) error {
	var in struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return badRequest("json: %v", err)
	}
	for i, st := range in.Streams {
		if len(st.Stream) == 0 {
			return badRequest("stream %d: no labels", i)
		}
		ps := push.Stream{Labels: formatLabelSet(st.Stream)}
		for j, v := range st.Values {
			if len(v) < 2 || len(v) > 3 {
				return badRequest("stream %d value %d: want [timestamp, line]", i, j)
			}
			var ts json.Number
			if err := json.Unmarshal(bytes.Trim(v[0], `"`), &ts); err != nil {
				return badRequest("stream %d value %d: timestamp %s: want Unix nanoseconds", i, j, v[0])
			}
			n, err := strconv.ParseInt(ts.String(), 10, 64)
			if err != nil {
				return badRequest("stream %d value %d: timestamp %s: want Unix nanoseconds", i, j, v[0])
			}
			var line string
			if err := json.Unmarshal(v[1], &line); err != nil {
				return badRequest("stream %d value %d: line: want a string", i, j)
			}
			ps.Entries = append(ps.Entries, push.Entry{Timestamp: time.Unix(0, n), Line: line})
		}
		req.Streams = append(req.Streams, ps)
	}
	return nil
}

func tooLarge(limit int64) error {
	return &pushError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit)}
}

func mediaType(r *http.Request) (string, error) {
	h := r.Header.Get("Content-Type")
	if h == "" {
		return "", nil
	}
	ct, _, err := mime.ParseMediaType(h)
	if err != nil {
		return "", &pushError{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: %v", h, err)}
	}
	return ct, nil
}

// readBody reads at most limit bytes, decompressing gzip. A larger body
// is a 413; a broken gzip stream a 400.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, badRequest("gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &pushError{http.StatusUnsupportedMediaType, fmt.Sprintf("content encoding %q: want gzip or none", enc)}
	}
	b, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		if r.Context().Err() != nil {
			return nil, &pushError{http.StatusRequestTimeout, "request cancelled"}
		}
		return nil, badRequest("read body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

// tenantOf reads the tenant header (empty: the single-tenant default).
func tenantOf(r *http.Request) (string, error) {
	t := r.Header.Get(TenantHeader)
	if len(t) > 150 || strings.ContainsAny(t, "|\x00/") {
		return "", badRequest("%s: at most 150 characters, no '|' or '/'", TenantHeader)
	}
	return t, nil
}

// parseLabelSet reads a stream's labels in Prometheus text form,
// {name="value", ...}, as Loki's push protocol carries them.
func parseLabelSet(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("labels %q: want {name=\"value\", ...}", trimForError(s))
	}
	rest := strings.TrimSpace(s[1 : len(s)-1])
	out := map[string]string{}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("labels %q: want name=\"value\"", trimForError(s))
		}
		name := strings.TrimSpace(rest[:eq])
		if !validLabelName(name) {
			return nil, fmt.Errorf("labels %q: bad label name %q", trimForError(s), trimForError(name))
		}
		rest = strings.TrimSpace(rest[eq+1:])
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("labels %q: value of %s: want a quoted string", trimForError(s), name)
		}
		v, _ := strconv.Unquote(q)
		out[name] = cleanText(v)
		rest = strings.TrimSpace(rest[len(q):])
		if rest != "" {
			if rest[0] != ',' {
				return nil, fmt.Errorf("labels %q: want ',' after %s", trimForError(s), name)
			}
			rest = strings.TrimSpace(rest[1:])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("stream without labels")
	}
	return out, nil
}

func validLabelName(n string) bool {
	for i, r := range n {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return n != ""
}

// formatLabelSet renders labels as parseLabelSet reads them.
func formatLabelSet(l map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range sortedKeys(l) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func sortedKeys(l map[string]string) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func trimForError(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
