package correlator_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/correlator"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/telemetry"
)

// pushFixture is a running correlator (poller and push worker) with no
// log source of its own: everything it knows was pushed.
type pushFixture struct {
	c      *correlator.Correlator
	srv    *httptest.Server
	st     store.Store
	events []incident.Event // the scenario's log entries, in file order
}

// newPushFixture materialises a scenario and starts a correlator on it.
func newPushFixture(t testing.TB, name string, pc correlator.PushConfig) *pushFixture {
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
	repo, logs, deploys := made.Repo, made.Logs, made.Deploys
	f := &pushFixture{}
	if _, err := telemetry.NewFileSource(logs, nil).Fetch(context.Background(), telemetry.Query{}, func(e incident.Event) error {
		f.events = append(f.events, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.st, err = store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	f.c, err = correlator.New(correlator.Config{
		Store: f.st, Token: token, Push: pc, Poll: time.Hour, Settle: -1,
		Repos:   []correlator.Repo{{Name: "shop", Root: repo}},
		Deploys: deploysFrom(deploys),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go f.c.Run(ctx)
	f.srv = httptest.NewServer(f.c.Handler())
	t.Cleanup(func() { f.srv.Close(); cancel() })
	return f
}

func deploysFrom(path string) func(context.Context) ([]incident.Deploy, error) {
	return func(context.Context) ([]incident.Deploy, error) {
		b, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer b.Close()
		ds, _, err := telemetry.ReadDeploys(b)
		return ds, err
	}
}

// lokiRequest groups events into a push request the way an agent batches
// them: one stream per label set, entries in order.
func lokiRequest(evs []incident.Event) *push.PushRequest {
	req := &push.PushRequest{}
	index := map[string]int{}
	for _, e := range evs {
		key := incident.LabelsKey(e.Labels)
		i, ok := index[key]
		if !ok {
			i = len(req.Streams)
			index[key] = i
			req.Streams = append(req.Streams, push.Stream{Labels: promLabels(e.Labels)})
		}
		req.Streams[i].Entries = append(req.Streams[i].Entries, push.Entry{Timestamp: e.Time, Line: e.Line})
	}
	return req
}

func promLabels(l map[string]string) string {
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

// Encodings an agent may use.
const (
	encProto     = "proto"
	encProtoGzip = "proto+gzip"
	encJSON      = "json"
	encJSONGzip  = "json+gzip"
)

// encodeLoki renders a push request as Promtail (protobuf + snappy) or a
// JSON client sends it, optionally gzipped.
func encodeLoki(t testing.TB, req *push.PushRequest, enc string) (body []byte, header http.Header) {
	t.Helper()
	header = http.Header{}
	if strings.HasPrefix(enc, encJSON) {
		type stream struct {
			Stream map[string]string `json:"stream"`
			Values [][2]string       `json:"values"`
		}
		var out struct {
			Streams []stream `json:"streams"`
		}
		for _, s := range req.Streams {
			js := stream{Stream: parseProm(t, s.Labels)}
			for _, e := range s.Entries {
				js.Values = append(js.Values, [2]string{strconv.FormatInt(e.Timestamp.UnixNano(), 10), e.Line})
			}
			out.Streams = append(out.Streams, js)
		}
		body, _ = json.Marshal(out)
		header.Set("Content-Type", "application/json")
	} else {
		raw, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		body = snappy.Encode(nil, raw)
		header.Set("Content-Type", "application/x-protobuf")
	}
	if strings.HasSuffix(enc, "+gzip") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
		header.Set("Content-Encoding", "gzip")
	}
	return body, header
}

func parseProm(t testing.TB, s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(strings.Trim(s, "{}"), ", ") {
		k, v, _ := strings.Cut(part, "=")
		uq, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("labels %s: %v", s, err)
		}
		out[k] = uq
	}
	return out
}

// post sends a body to the correlator with the test token.
func (f *pushFixture) post(t testing.TB, path string, body []byte, header http.Header) (*http.Response, string) {
	t.Helper()
	return postTo(t, f.srv.URL+path, body, header, "Bearer "+token)
}

func postTo(t testing.TB, url string, body []byte, header http.Header, auth string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// pushAll pushes events in agent-sized batches and requires 204 for each.
func (f *pushFixture) pushAll(t testing.TB, evs []incident.Event, batch int, enc string) {
	t.Helper()
	for i := 0; i < len(evs); i += batch {
		body, h := encodeLoki(t, lokiRequest(evs[i:min(i+batch, len(evs))]), enc)
		resp, msg := f.post(t, correlator.PathLokiPush, body, h)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("push: %s %s", resp.Status, msg)
		}
	}
}

func (f *pushFixture) incidents(t testing.TB) []incident.Incident {
	t.Helper()
	resp, body := postlessGet(t, f.srv.URL+correlator.PathIncidents)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %s %s", resp.Status, body)
	}
	var out struct{ Incidents []incident.Incident }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Incidents
}

func postlessGet(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// waitUntil polls cond; the limit only keeps a broken build from hanging.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// summary is what a user compares between the push and the poll path.
func summary(incs []incident.Incident) map[string]string {
	out := map[string]string{}
	for _, in := range incs {
		s := fmt.Sprintf("count=%d", in.Count)
		if in.Location != nil {
			s += fmt.Sprintf(" at=%s:%d", in.Location.File, in.Location.Line)
		}
		if in.RootCause != nil && in.RootCause.SuspectCommit != nil {
			s += " suspect=" + in.RootCause.SuspectCommit.SHA
		}
		out[in.ID] = s
	}
	return out
}

// polled is what the poll path makes of the same scenario.
func polled(t *testing.T, name string) map[string]string {
	t.Helper()
	f := newFixture(t, name)
	f.poll(t)
	_, body := f.get(t, correlator.PathIncidents, map[string]string{"Authorization": "Bearer " + token})
	var out struct{ Incidents []incident.Incident }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Incidents) == 0 {
		t.Fatal("the poll path found no incident: the comparison would prove nothing")
	}
	return summary(out.Incidents)
}

func equalSummaries(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPushMatchesPoll(t *testing.T) {
	want := polled(t, "demo")
	for _, enc := range []string{encProto, encProtoGzip, encJSON, encJSONGzip} {
		t.Run(enc, func(t *testing.T) {
			f := newPushFixture(t, "demo", correlator.PushConfig{})
			f.pushAll(t, f.events, 50, enc)
			var got map[string]string
			waitUntil(t, "the pushed incidents", func() bool {
				got = summary(f.incidents(t))
				return equalSummaries(got, want)
			})
		})
	}
}

func TestPushResendIsNotDoubleCounted(t *testing.T) {
	f := newPushFixture(t, "demo", correlator.PushConfig{})
	f.pushAll(t, f.events, 40, encProto)
	want := polled(t, "demo")
	waitUntil(t, "the pushed incidents", func() bool { return equalSummaries(summary(f.incidents(t)), want) })
	_, occBefore, _ := f.st.Count(context.Background())
	// The agent timed out and sends everything again, in other batches.
	f.pushAll(t, f.events, 70, encProtoGzip)
	waitUntil(t, "the resent batches to be processed", func() bool {
		pending, _, err := f.st.(store.PushLog).CountPushed(context.Background())
		return err == nil && pending == 0
	})
	if _, total, _ := f.st.(store.PushLog).CountPushed(context.Background()); total != int64(distinctEntries(f.events)) {
		t.Errorf("pushed_entries holds %d entries, want the %d distinct ones", total, distinctEntries(f.events))
	}
	if got := summary(f.incidents(t)); !equalSummaries(got, want) {
		t.Errorf("after a resend:\n got %v\nwant %v", got, want)
	}
	if _, occAfter, _ := f.st.Count(context.Background()); occAfter != occBefore {
		t.Errorf("occurrences %d after the resend, %d before", occAfter, occBefore)
	}
}

func TestPushWakesLongPoll(t *testing.T) {
	f := newPushFixture(t, "demo", correlator.PushConfig{})
	resp, _ := postlessGet(t, f.srv.URL+correlator.PathIncidents)
	etag := resp.Header.Get("ETag")
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+correlator.PathIncidents+"?wait=5m", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("If-None-Match", etag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	f.pushAll(t, f.events, 100, encProto)
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("long poll answered %d, want 200 with the new incidents", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("the long poll did not return after the push")
	}
}

// distinctEntries counts the entries Loki would store: non-blank, and
// distinct in stream, time and line.
func distinctEntries(evs []incident.Event) int {
	seen := map[string]bool{}
	for _, e := range evs {
		if strings.TrimSpace(e.Line) != "" {
			seen[fmt.Sprintf("%s\x00%d\x00%s", incident.LabelsKey(e.Labels), e.Time.UnixNano(), e.Line)] = true
		}
	}
	return len(seen)
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestPushRejectsBadInput(t *testing.T) {
	f := newPushFixture(t, "demo", correlator.PushConfig{MaxBodyBytes: 64 << 10})
	good, goodH := encodeLoki(t, lokiRequest(f.events[:5]), encProto)
	proto := http.Header{"Content-Type": {"application/x-protobuf"}}
	jsonH := http.Header{"Content-Type": {"application/json"}}
	gz := http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}
	huge := []byte(`{"streams":[{"stream":{"service":"x"},"values":[["1","` + strings.Repeat("a", 100<<10) + `"]]}]}`)
	badLabels := &push.PushRequest{Streams: []push.Stream{{Labels: `{service="x`, Entries: []push.Entry{{Line: "l"}}}}}
	rawBad, _ := badLabels.Marshal()
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		auth   string
		want   int
	}{
		{"good", good, goodH, "Bearer " + token, http.StatusNoContent},
		{"no token", good, goodH, "", http.StatusUnauthorized},
		{"wrong token", good, goodH, "Bearer nope", http.StatusUnauthorized},
		{"not snappy", []byte("\xff\xff\xff\xff garbage"), proto, "Bearer " + token, http.StatusBadRequest},
		{"snappy, not protobuf", snappy.Encode(nil, []byte("\x0a\xff\xff\xff\xff\x0f")), proto, "Bearer " + token, http.StatusBadRequest},
		{"bad labels", snappy.Encode(nil, rawBad), proto, "Bearer " + token, http.StatusBadRequest},
		{"not json", []byte(`{"streams":[`), jsonH, "Bearer " + token, http.StatusBadRequest},
		{"bad timestamp", []byte(`{"streams":[{"stream":{"service":"x"},"values":[["yesterday","l"]]}]}`), jsonH, "Bearer " + token, http.StatusBadRequest},
		{"no labels", []byte(`{"streams":[{"stream":{},"values":[["1","l"]]}]}`), jsonH, "Bearer " + token, http.StatusBadRequest},
		{"not gzip", []byte(`{}`), gz, "Bearer " + token, http.StatusBadRequest},
		{"oversize", huge, jsonH, "Bearer " + token, http.StatusRequestEntityTooLarge},
		{"oversize once gunzipped", gzipped(huge), gz, "Bearer " + token, http.StatusRequestEntityTooLarge},
		{"oversize once unsnappied", snappy.Encode(nil, huge), proto, "Bearer " + token, http.StatusRequestEntityTooLarge},
		{"unknown type", good, http.Header{"Content-Type": {"text/csv"}}, "Bearer " + token, http.StatusUnsupportedMediaType},
		{"otlp garbage", []byte("\xff\xff\xff"), proto, "Bearer " + token, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := correlator.PathLokiPush
			if strings.HasPrefix(tc.name, "otlp") {
				path = correlator.PathOTLPLogs
			}
			resp, body := postTo(t, f.srv.URL+path, tc.body, tc.header, tc.auth)
			if resp.StatusCode != tc.want {
				t.Fatalf("got %s %s, want %d", resp.Status, body, tc.want)
			}
			if tc.want >= 400 && !strings.Contains(body, `"error"`) {
				t.Errorf("no reason given: %q", body)
			}
		})
	}
}

// TestPushFloodIsBounded holds every stream open (FlushAfter far away) so
// that nothing drains: the queue must fill, answer 429 with Retry-After,
// and hold no more than its bound however much more is pushed.
func TestPushFloodIsBounded(t *testing.T) {
	const maxQueue = 500
	f := newPushFixture(t, "demo", correlator.PushConfig{MaxQueue: maxQueue, MaxQueueBytes: 1 << 20,
		FlushAfter: time.Hour, MaxStreamEntries: 100000})
	line := strings.Repeat("x", 2000)
	var accepted, rejected int
	var heapBefore uint64
	for i := 0; i < 400; i++ {
		req := &push.PushRequest{Streams: []push.Stream{{Labels: `{service="flood"}`}}}
		for j := 0; j < 100; j++ {
			req.Streams[0].Entries = append(req.Streams[0].Entries,
				push.Entry{Timestamp: time.Unix(0, int64(i*1000+j)), Line: line})
		}
		body, h := encodeLoki(t, req, encProto)
		resp, msg := f.post(t, correlator.PathLokiPush, body, h)
		switch resp.StatusCode {
		case http.StatusNoContent:
			accepted += 100
		case http.StatusTooManyRequests:
			rejected++
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("429 without a usable Retry-After: %q", resp.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("push %d: %s %s", i, resp.Status, msg)
		}
		if i == 50 {
			heapBefore = metricValue(t, f, "go_memstats_heap_inuse_bytes")
		}
	}
	if rejected == 0 {
		t.Fatal("40 MB pushed into a 1 MiB queue that never drains, and no 429")
	}
	if q := metricValue(t, f, "faultline_correlator_push_queue_entries"); q > maxQueue || int(q) != accepted {
		t.Errorf("queue holds %d entries; accepted %d, bound %d", q, accepted, maxQueue)
	}
	// 350 more pushes of 200 kB each were refused: the heap must not have
	// grown by anything like their 70 MB.
	if after := metricValue(t, f, "go_memstats_heap_inuse_bytes"); after > heapBefore+32<<20 {
		t.Errorf("heap grew from %d to %d bytes while pushes were refused", heapBefore, after)
	}
}

func metricValue(t testing.TB, f *pushFixture, name string) uint64 {
	t.Helper()
	_, body := postlessGet(t, f.srv.URL+correlator.PathMetrics)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", l, err)
			}
			return uint64(n)
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// BenchmarkPushIngest measures end-to-end push ingestion: batches of 1000
// entries pushed as Promtail sends them (protobuf + snappy), timed until
// every entry is processed and, with traces, every crash is stored as an
// occurrence. It reports entries/s and the heap in use at the end of the
// pushes (what the correlator held while analysing).
func BenchmarkPushIngest(b *testing.B) {
	for _, withTraces := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "traces"}[withTraces], func(b *testing.B) {
			f := newPushFixture(b, "demo", correlator.PushConfig{FlushAfter: 100 * time.Millisecond})
			var crash []incident.Event
			for i, e := range f.events {
				if strings.HasPrefix(e.Line, "panic: ") {
					crash = benchCrash(f.events[i:])
					break
				}
			}
			const perBatch = 1000
			base := time.Now().Add(-time.Hour)
			traces := 0
			b.ResetTimer()
			start := time.Now()
			var heap uint64
			for n := 0; n < b.N; n++ {
				var evs []incident.Event
				for len(evs) < perBatch {
					i := n*perBatch + len(evs)
					if withTraces && i%100 == 0 { // one crash per ~100 lines
						t0 := base.Add(time.Duration(i) * time.Millisecond)
						for k, c := range crash {
							evs = append(evs, incident.Event{Time: t0.Add(time.Duration(k) * time.Microsecond), Labels: c.Labels, Line: c.Line})
						}
						traces++
						continue
					}
					evs = append(evs, incident.Event{Time: base.Add(time.Duration(i) * time.Millisecond),
						Labels: map[string]string{"service": "checkout", "env": "prod", "pod": "p" + strconv.Itoa(i%10)},
						Line:   "time=2026-11-20T10:00:00Z level=INFO msg=\"request served\" path=/cart status=200 n=" + strconv.Itoa(i)})
				}
				body, h := encodeLoki(b, lokiRequest(evs), encProto)
				for {
					resp, msg := f.post(b, correlator.PathLokiPush, body, h)
					if resp.StatusCode == http.StatusNoContent {
						break
					}
					if resp.StatusCode != http.StatusTooManyRequests {
						b.Fatalf("push: %s %s", resp.Status, msg)
					}
					time.Sleep(50 * time.Millisecond)
				}
				heap = max(heap, metricValue(b, f, "go_memstats_heap_inuse_bytes"))
			}
			waitUntil(b, "the pushes to be processed", func() bool {
				pending, _, err := f.st.(store.PushLog).CountPushed(context.Background())
				_, occ, _ := f.st.Count(context.Background())
				return err == nil && pending == 0 && occ >= int64(min(traces, 200))
			})
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N*perBatch)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(heap)/(1<<20), "heapMB")
		})
	}
}

// benchCrash is the crash starting at evs[0]: its stream's lines written
// within a few milliseconds.
func benchCrash(evs []incident.Event) []incident.Event {
	out := []incident.Event{evs[0]}
	key := incident.LabelsKey(evs[0].Labels)
	for _, n := range evs[1:] {
		if incident.LabelsKey(n.Labels) != key {
			continue
		}
		if n.Time.Sub(out[len(out)-1].Time) > 50*time.Millisecond {
			break
		}
		out = append(out, n)
	}
	return out
}
