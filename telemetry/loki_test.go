package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

var t0 = ts("2026-11-20T10:42:00Z")

// pushLoki sends entries through the real push path, as an agent does:
// a PushRequest marshalled to protobuf, snappy-compressed, POSTed.
func pushLoki(t *testing.T, srv *lokitest.Server, labels map[string]string, entries ...push.Entry) {
	t.Helper()
	req := push.PushRequest{Streams: []push.Stream{{Labels: promLabels(labels), Entries: entries}}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/loki/api/v1/push", "application/x-protobuf", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %s", resp.Status)
	}
}

func promLabels(l map[string]string) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

// testLoki builds a client whose retry waits are recorded, not slept.
func testLoki(t *testing.T, srv *lokitest.Server, cfg LokiConfig) (*Loki, *[]time.Duration) {
	t.Helper()
	cfg.URL = srv.URL
	l, err := newLoki(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	l.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	return l, &waits
}

type eventKey struct {
	time   int64
	stream string
	line   string
}

func keysOf(evs []incident.Event) []eventKey {
	out := make([]eventKey, len(evs))
	for i, e := range evs {
		out[i] = eventKey{e.Time.UnixNano(), e.StreamKey(), e.Line}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.time != b.time {
			return a.time < b.time
		}
		if a.stream != b.stream {
			return a.stream < b.stream
		}
		return a.line < b.line
	})
	return out
}

func TestLokiPagingEqualTimestamps(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	a := map[string]string{"service": "a"}
	b := map[string]string{"service": "b", "pod": "b-1"}
	pushLoki(t, srv, a, push.Entry{Timestamp: t0, Line: "a before"})
	var same []push.Entry
	for i := 0; i < 10; i++ {
		same = append(same, push.Entry{Timestamp: t0.Add(time.Second), Line: fmt.Sprintf("a same %d", i)})
	}
	pushLoki(t, srv, a, same...)
	pushLoki(t, srv, b, push.Entry{Timestamp: t0.Add(time.Second), Line: "b same"},
		push.Entry{Timestamp: t0.Add(2 * time.Second), Line: "b after"})

	for _, limit := range []int{1, 2, 3, 4, 13, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			l, _ := testLoki(t, srv, LokiConfig{PageLimit: limit})
			got, st, err := collect(t, l, Query{Start: t0, End: t0.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			var want []eventKey
			for _, e := range srv.Entries() {
				want = append(want, eventKey{e.Time.UnixNano(), incident.LabelsKey(NormalizeLabels(e.Labels)), e.Line})
			}
			sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
			gotKeys := keysOf(got)
			sort.Slice(gotKeys, func(i, j int) bool { return fmt.Sprint(gotKeys[i]) < fmt.Sprint(gotKeys[j]) })
			if !reflect.DeepEqual(gotKeys, want) || st.Entries != 13 {
				t.Errorf("got %d entries %v\nwant 13 %v", st.Entries, gotKeys, want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Time.Before(got[i-1].Time) {
					t.Errorf("entry %d out of order", i)
				}
			}
		})
	}
}

func TestLokiSameEventsAsFileSource(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	// Push every readable line of the jsonl fixture with its raw labels.
	sc := bufio.NewScanner(bytes.NewReader(fixture(t, "logs.jsonl")))
	for sc.Scan() {
		var e struct {
			Labels    map[string]string
			Line      *string
			Timestamp json.RawMessage
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Line == nil {
			continue
		}
		when, ok := parseTimestamp(e.Timestamp)
		if !ok {
			continue
		}
		pushLoki(t, srv, e.Labels, push.Entry{Timestamp: when, Line: *e.Line})
	}
	l, _ := testLoki(t, srv, LokiConfig{Selector: `{pod=~".*"}`, PageLimit: 2})
	fromLoki, _, err := collect(t, l, Query{Start: t0, End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := collect(t, NewFileSource(copyTo(t, "logs.jsonl", "logs.jsonl", nil), nil), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFile) != 7 || !reflect.DeepEqual(keysOf(fromLoki), keysOf(fromFile)) {
		t.Errorf("loki:\n%v\nfile:\n%v", keysOf(fromLoki), keysOf(fromFile))
	}
}

func TestLokiPoller(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	svc := map[string]string{"service": "s"}
	pushLoki(t, srv, svc, push.Entry{Timestamp: t0, Line: "1"}, push.Entry{Timestamp: t0.Add(time.Second), Line: "2"})
	l, _ := testLoki(t, srv, LokiConfig{PageLimit: 2})
	p := l.NewPoller("", t0)
	poll := func(until time.Time) []string {
		var lines []string
		if _, err := p.Poll(context.Background(), until, func(e incident.Event) error {
			lines = append(lines, e.Line)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return lines
	}
	if got := poll(t0.Add(10 * time.Second)); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("first poll: %v", got)
	}
	// A new entry at the last timestamp seen, and a later one.
	pushLoki(t, srv, svc, push.Entry{Timestamp: t0.Add(time.Second), Line: "2b"}, push.Entry{Timestamp: t0.Add(20 * time.Second), Line: "3"})
	if got := poll(t0.Add(30 * time.Second)); !reflect.DeepEqual(got, []string{"2b", "3"}) {
		t.Errorf("second poll: %v, want only the new entries", got)
	}
	if got := poll(t0.Add(40 * time.Second)); len(got) != 0 {
		t.Errorf("third poll: %v, want nothing", got)
	}
}

func TestLokiRetries(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	pushLoki(t, srv, map[string]string{"service": "s"}, push.Entry{Timestamp: t0, Line: "x"})
	tests := []struct {
		name      string
		faults    []lokitest.Fault
		attempts  int
		wantErr   string
		wantWaits []time.Duration // exact waits; nil: any, counted by wantCount
		waitCount int
	}{
		{name: "500 then success", faults: []lokitest.Fault{{Status: 500}, {Status: 503}}, waitCount: 2},
		{name: "429 honours Retry-After", faults: []lokitest.Fault{{Status: 429, RetryAfter: "7"}}, wantWaits: []time.Duration{7 * time.Second}},
		{name: "bounded attempts", faults: []lokitest.Fault{{Status: 500}, {Status: 500}, {Status: 500}}, attempts: 3,
			wantErr: "giving up after 3 attempts", waitCount: 2},
		{name: "400 is not retried", faults: []lokitest.Fault{{Status: 400, Body: "parse error at line 1"}},
			wantErr: "400 Bad Request: parse error at line 1"},
		{name: "truncated JSON", faults: []lokitest.Fault{{Truncate: true}}, wantErr: "truncated JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.InjectFaults(tc.faults...)
			l, waits := testLoki(t, srv, LokiConfig{MaxAttempts: tc.attempts})
			got, _, err := collect(t, l, Query{Start: t0, End: t0.Add(time.Minute)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || len(got) != 1 || got[0].Line != "x" {
				t.Fatalf("err = %v, events %v", err, got)
			}
			if tc.wantWaits != nil && !reflect.DeepEqual(*waits, tc.wantWaits) {
				t.Errorf("waits %v, want %v", *waits, tc.wantWaits)
			}
			if tc.wantWaits == nil && len(*waits) != tc.waitCount {
				t.Errorf("waited %d times, want %d", len(*waits), tc.waitCount)
			}
			for _, w := range *waits {
				if w <= 0 {
					t.Errorf("non-positive backoff %v", w)
				}
			}
		})
	}
}

func TestLokiHangingServerTimesOut(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	srv.InjectFaults(lokitest.Fault{Hang: true}, lokitest.Fault{Hang: true})
	l, waits := testLoki(t, srv, LokiConfig{RequestTimeout: 50 * time.Millisecond, MaxAttempts: 2})
	_, _, err := collect(t, l, Query{Start: t0, End: t0.Add(time.Minute)})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "giving up after 2 attempts") {
		t.Fatalf("err = %v, want a deadline error after 2 attempts", err)
	}
	if len(*waits) != 1 || len(srv.Requests()) != 2 {
		t.Errorf("waits %v, requests %d", *waits, len(srv.Requests()))
	}
}

func TestLokiCredentials(t *testing.T) {
	const token, password = "tok-9f8e7d6c5b4a", "pw-0a1b2c3d"
	srv := lokitest.New()
	defer srv.Close()
	// The server echoes the credentials back in an error body.
	srv.InjectFaults(lokitest.Fault{Status: 401, Body: "denied: Bearer " + token},
		lokitest.Fault{Status: 401, Body: "denied: " + password},
		lokitest.Fault{Hang: true}, lokitest.Fault{Truncate: true})
	bearer, _ := testLoki(t, srv, LokiConfig{Token: token, OrgID: "tenant-1", RequestTimeout: 50 * time.Millisecond, MaxAttempts: 1})
	basic, _ := testLoki(t, srv, LokiConfig{Username: "u", Password: password, RequestTimeout: 50 * time.Millisecond, MaxAttempts: 1})
	var errs []error
	for _, l := range []*Loki{bearer, basic, bearer, bearer} {
		_, _, err := collect(t, l, Query{Start: t0, End: t0.Add(time.Minute), Selector: `{bad`})
		errs = append(errs, err)
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("request %d: no error", i)
		}
		if s := err.Error(); strings.Contains(s, token) || strings.Contains(s, password) {
			t.Errorf("error leaks a secret: %s", s)
		}
	}
	if strings.Contains(bearer.Name(), token) {
		t.Errorf("name leaks the token: %s", bearer.Name())
	}
	reqs := srv.Requests()
	if h := reqs[0].Header; h.Get("Authorization") != "Bearer "+token || h.Get("X-Scope-OrgID") != "tenant-1" {
		t.Errorf("bearer request headers: %v", h)
	}
	if u, p, ok := (&http.Request{Header: reqs[1].Header}).BasicAuth(); !ok || u != "u" || p != password {
		t.Errorf("basic auth: %q %q %v", u, p, ok)
	}
}

func TestLokiSplitsLongRanges(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	for h := 0; h < 5; h++ {
		pushLoki(t, srv, map[string]string{"service": "s"}, push.Entry{Timestamp: t0.Add(time.Duration(h) * time.Hour), Line: fmt.Sprint(h)})
	}
	l, _ := testLoki(t, srv, LokiConfig{MaxQueryLength: 2 * time.Hour, LineFilter: `!= "3"`})
	got, _, err := collect(t, l, Query{Start: t0, End: t0.Add(5 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Line)
	}
	if !reflect.DeepEqual(lines, []string{"0", "1", "2", "4"}) {
		t.Errorf("lines %v", lines)
	}
	var windows []string
	for _, r := range srv.Requests() {
		windows = append(windows, r.Query["start"]+"-"+r.Query["end"]+" "+r.Query["query"]+" "+r.Query["direction"])
	}
	h := func(n int) string { return fmt.Sprint(t0.Add(time.Duration(n) * time.Hour).UnixNano()) }
	want := []string{
		h(0) + "-" + h(2) + ` {service=~".+"} != "3" forward`,
		h(2) + "-" + h(4) + ` {service=~".+"} != "3" forward`,
		h(4) + "-" + h(5) + ` {service=~".+"} != "3" forward`,
	}
	if !reflect.DeepEqual(windows, want) {
		t.Errorf("requests:\n%v\nwant\n%v", windows, want)
	}
}

// TestLokiPollerClockJump: the machine's clock jumps back (NTP, a VM
// restored from a snapshot) and forward again. The poller neither repeats
// entries it delivered nor loses the ones that arrive after the jump.
func TestLokiPollerClockJump(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	svc := map[string]string{"service": "s"}
	pushLoki(t, srv, svc, push.Entry{Timestamp: t0, Line: "1"}, push.Entry{Timestamp: t0.Add(5 * time.Second), Line: "2"})
	l, _ := testLoki(t, srv, LokiConfig{PageLimit: 2})
	p := l.NewPoller("", t0)
	poll := func(until time.Time) []string {
		var lines []string
		if _, err := p.Poll(context.Background(), until, func(e incident.Event) error {
			lines = append(lines, e.Line)
			return nil
		}); err != nil {
			t.Fatalf("poll until %v: %v", until, err)
		}
		return lines
	}
	if got := poll(t0.Add(time.Minute)); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Fatalf("first poll: %v", got)
	}
	// The clock jumps an hour back: the window ends before it starts.
	if got := poll(t0.Add(-time.Hour)); len(got) != 0 {
		t.Errorf("poll after the clock went back: %v, want nothing (and no error)", got)
	}
	// New entries, and the clock is right again.
	pushLoki(t, srv, svc, push.Entry{Timestamp: t0.Add(90 * time.Second), Line: "3"})
	if got := poll(t0.Add(2 * time.Minute)); !reflect.DeepEqual(got, []string{"3"}) {
		t.Errorf("poll after the clock came back: %v, want only the new entry", got)
	}
}
