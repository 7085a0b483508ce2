package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// ev builds an expected event; labels are given as k=v pairs.
func ev(t, line, origin string, kv ...string) incident.Event {
	l := map[string]string{}
	for _, p := range kv {
		k, v, _ := strings.Cut(p, "=")
		l[k] = v
	}
	return incident.Event{Time: ts(t), Labels: l, Line: line, Origin: origin}
}

// collect fetches everything from src.
func collect(t *testing.T, src Source, q Query) ([]incident.Event, Stats, error) {
	t.Helper()
	var got []incident.Event
	st, err := src.Fetch(context.Background(), q, func(e incident.Event) error {
		got = append(got, e)
		return nil
	})
	return got, st, err
}

// copyTo copies a fixture to dir under name with a fixed mtime, so that
// synthesised timestamps do not depend on when the tree was checked out.
func copyTo(t *testing.T, fixture, name string, data []byte) string {
	t.Helper()
	if fixture != "" {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", fixture)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := ts("2026-11-20T10:00:00Z")
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const checkoutLabels = "service=checkout,env=prod,version=v1.4.0,pod=checkout-7d9f"

func checkoutEv(t, line, origin string) incident.Event {
	return ev(t, line, origin, strings.Split(checkoutLabels, ",")...)
}

func jsonlWant(origin string) []incident.Event {
	return []incident.Event{
		checkoutEv("2026-11-20T10:42:01.123456789Z", "panic: runtime error: index out of range [3] with length 3", origin+":1"),
		checkoutEv("2026-11-20T10:42:01.123556789Z", "", origin+":2"),
		checkoutEv("2026-11-20T10:42:01.124Z", "goroutine 1 [running]:", origin+":3"),
		ev("2026-11-20T10:42:02Z", "ERROR cart empty", origin+":5", "service=cart", "env=staging"),
		ev("2026-11-20T10:43:00Z", "Traceback (most recent call last):", origin+":7", "service=api", "env=prod", "version=2.0.1"),
		ev("2026-11-20T10:43:05Z", "caf\uFFFD été", origin+":11", "service=web", "job=ns/web", "service_name=unknown_service"),
		ev("2026-11-20T10:43:06Z", "last line without newline", origin+":12", "service=web"),
	}
}

func TestFileSource(t *testing.T) {
	jsonl := fixture(t, "logs.jsonl")
	jsonlProblems := func(origin string) []string {
		return []string{
			origin + ":4: invalid JSON: invalid character 'h' in literal true (expecting 'r')",
			origin + `:8: no "timestamp" field`,
			origin + `:9: no "line" field`,
			origin + ":10: binary data",
		}
	}
	bigJSONL := append(append([]byte(`{"labels":{"service":"s"},"line":"`), bytes.Repeat([]byte("y"), 10<<20)...), "\",\"timestamp\":\"1\"}\n"...)
	bigJSONL = append(bigJSONL, jsonl...)
	tenMB := append(append([]byte("before\n"), bytes.Repeat([]byte("x"), 10<<20)...), "\nafter\n"...)
	tests := []struct {
		name     string
		path     func(t *testing.T) string
		defaults map[string]string
		q        Query
		want     []incident.Event
		stats    Stats
	}{{
		name:  "logcli jsonl with aliases and malformed lines",
		path:  func(t *testing.T) string { return copyTo(t, "logs.jsonl", "logs.jsonl", nil) },
		want:  jsonlWant("logs.jsonl"),
		stats: Stats{Entries: 7, Malformed: 4, FirstProblems: jsonlProblems("logs.jsonl"), Bytes: int64(len(jsonl)), Format: "jsonl"},
	}, {
		name:  "gzip detected by magic bytes, not by name",
		path:  func(t *testing.T) string { return copyTo(t, "", "logs.jsonl", gzipBytes(t, jsonl)) },
		want:  jsonlWant("logs.jsonl"),
		stats: Stats{Entries: 7, Malformed: 4, FirstProblems: jsonlProblems("logs.jsonl"), Bytes: int64(len(jsonl)), Format: "jsonl"},
	}, {
		name: "query window is half-open",
		path: func(t *testing.T) string { return copyTo(t, "logs.jsonl", "logs.jsonl", nil) },
		q:    Query{Start: ts("2026-11-20T10:42:01.123556789Z"), End: ts("2026-11-20T10:43:00Z")},
		want: jsonlWant("logs.jsonl")[1:4],
		stats: Stats{Entries: 3, Malformed: 4, FirstProblems: jsonlProblems("logs.jsonl"),
			Bytes: int64(len(jsonl)), Format: "jsonl"},
	}, {
		name: "saved query_range response",
		path: func(t *testing.T) string { return copyTo(t, "query_range.json", "qr.json", nil) },
		want: []incident.Event{
			ev("2026-11-20T10:42:01Z", "first", "qr.json", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:02Z", "second (saved backward)", "qr.json", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:01.5Z", "x", "qr.json", "service=cart"),
			ev("2026-11-20T10:42:01.7Z", "y", "qr.json", "service=cart"),
		},
		stats: Stats{Entries: 4, Malformed: 2, Bytes: int64(len(fixture(t, "query_range.json"))), Format: "query_range",
			FirstProblems: []string{
				`qr.json: result[1].values[1]: bad timestamp "oops"`,
				`qr.json: result[1].values[2]: value is not [timestamp, line]`,
			}},
	}, {
		name:     "plain text with and without timestamps",
		path:     func(t *testing.T) string { return copyTo(t, "stderr.txt", "stderr.txt", nil) },
		defaults: map[string]string{"app": "checkout", "env": "prod"},
		want: []incident.Event{
			ev("2026-11-20T10:00:00Z", "starting server on :8080", "stderr.txt:1", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:01.5Z", "ERROR request failed", "stderr.txt:2", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:01.501Z", "goroutine 1 [running]:", "stderr.txt:3", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:01.502Z", "main.main()", "stderr.txt:4", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:01.503Z", "\t/app/main.go:12 +0x1d", "stderr.txt:5", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:03Z", "  panic: caf\uFFFD", "stderr.txt:7", "service=checkout", "env=prod"),
			ev("2026-11-20T10:42:03.001Z", "2026-13-45T99:00:00Z not a real timestamp", "stderr.txt:9", "service=checkout", "env=prod"),
		},
		stats: Stats{Entries: 7, Malformed: 1, Bytes: int64(len(fixture(t, "stderr.txt"))), Format: "text",
			FirstProblems: []string{"stderr.txt:8: binary data"}},
	}, {
		name:     "10 MB text line is cut, not fatal",
		path:     func(t *testing.T) string { return copyTo(t, "", "big.txt", tenMB) },
		defaults: map[string]string{"service": "s"},
		want: []incident.Event{
			ev("2026-11-20T10:00:00Z", "before", "big.txt:1", "service=s"),
			ev("2026-11-20T10:00:00.001Z", strings.Repeat("x", MaxLineBytes), "big.txt:2", "service=s"),
			ev("2026-11-20T10:00:00.002Z", "after", "big.txt:3", "service=s"),
		},
		stats: Stats{Entries: 3, Truncated: 1, Bytes: int64(len(tenMB)), Format: "text",
			FirstProblems: []string{"big.txt:2: line longer than 1048576 bytes truncated"}},
	}, {
		name: "10 MB jsonl line is skipped, later lines read",
		path: func(t *testing.T) string { return copyTo(t, "", "big.jsonl", bigJSONL) },
		want: func() []incident.Event {
			w := jsonlWant("big.jsonl")
			for i := range w {
				n, _ := strconv.Atoi(strings.TrimPrefix(w[i].Origin, "big.jsonl:"))
				w[i].Origin = "big.jsonl:" + strconv.Itoa(n+1)
			}
			return w
		}(),
		stats: Stats{Entries: 7, Malformed: 5, Truncated: 1, Bytes: int64(len(bigJSONL)), Format: "jsonl",
			FirstProblems: []string{
				"big.jsonl:1: line longer than 1048576 bytes truncated",
				"big.jsonl:1: entry unreadable after truncation",
				"big.jsonl:5: invalid JSON: invalid character 'h' in literal true (expecting 'r')",
				`big.jsonl:9: no "timestamp" field`,
				`big.jsonl:10: no "line" field`,
			}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path(t)
			got, st, err := collect(t, NewFileSource(p, tc.defaults), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			// Origins carry the temp dir; compare them relative to it.
			for i := range got {
				got[i].Origin = strings.TrimPrefix(got[i].Origin, filepath.Dir(p)+string(filepath.Separator))
			}
			for i := range st.FirstProblems {
				st.FirstProblems[i] = strings.TrimPrefix(st.FirstProblems[i], filepath.Dir(p)+string(filepath.Separator))
			}
			assertEvents(t, got, tc.want)
			if !reflect.DeepEqual(st, tc.stats) {
				t.Errorf("stats:\n got %+v\nwant %+v", st, tc.stats)
			}
		})
	}
}

func assertEvents(t *testing.T, got, want []incident.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d events, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Line != w.Line || g.Origin != w.Origin || !reflect.DeepEqual(g.Labels, w.Labels) {
			t.Errorf("event %d:\n got %s %v %q %.60q\nwant %s %v %q %.60q", i,
				g.Time.Format(time.RFC3339Nano), g.Labels, g.Origin, g.Line,
				w.Time.Format(time.RFC3339Nano), w.Labels, w.Origin, w.Line)
		}
	}
}

func TestFileSourceErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	if _, err := NewFileSource(missing, nil).Fetch(context.Background(), Query{}, func(incident.Event) error { return nil }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v, want it to name %s", err, missing)
	}
	dir := t.TempDir()
	if _, err := NewFileSource(dir, nil).Fetch(context.Background(), Query{}, func(incident.Event) error { return nil }); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: err = %v, want it to name %s", err, dir)
	}
	// A gzip stream cut in the middle is an error naming the file, after
	// the entries that could be read.
	gz := gzipBytes(t, bytes.Repeat(fixture(t, "logs.jsonl"), 200))
	cut := copyTo(t, "", "cut.jsonl.gz", gz[:len(gz)/2])
	got, _, err := collect(t, NewFileSource(cut, nil), Query{})
	if err == nil || !strings.Contains(err.Error(), cut) {
		t.Errorf("cut gzip: err = %v, want an error naming %s", err, cut)
	}
	if len(got) == 0 {
		t.Error("cut gzip: no events before the cut")
	}
}

func TestFileSourceStopsEarly(t *testing.T) {
	p := copyTo(t, "logs.jsonl", "logs.jsonl", nil)
	stop := errors.New("enough")
	n := 0
	st, err := NewFileSource(p, nil).Fetch(context.Background(), Query{}, func(incident.Event) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 || st.Entries != 2 {
		t.Errorf("fn error: err=%v calls=%d entries=%d; want the fn's error after 2", err, n, st.Entries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = NewFileSource(p, nil).Fetch(ctx, Query{}, func(incident.Event) error { t.Error("delivered after cancel"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
}

func TestReadDeploys(t *testing.T) {
	got, st, err := ReadDeploys(bytes.NewReader(fixture(t, "deploys.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.Deploy{
		{Time: ts("2026-11-19T09:00:00Z"), Service: "checkout", Env: "prod", Version: "v1.3.9"},
		{Time: ts("2026-11-20T10:30:00Z"), Service: "checkout", Env: "prod", Version: "v1.4.0", Commit: "0123456789abcdef0123456789abcdef01234567"},
		{Time: ts("2026-11-20T10:42:01Z"), Service: "api", Env: "prod", Commit: "89abcdef"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deploys:\n got %+v\nwant %+v", got, want)
	}
	wantSt := Stats{Entries: 3, Malformed: 3, Bytes: int64(len(fixture(t, "deploys.jsonl"))), Format: "deploys",
		FirstProblems: []string{
			"line 3: invalid JSON: invalid character 'o' in literal null (expecting 'u')",
			"line 4: bad or missing timestamp ",
			"line 6: neither version nor commit",
		}}
	if !reflect.DeepEqual(st, wantSt) {
		t.Errorf("stats:\n got %+v\nwant %+v", st, wantSt)
	}
	// Compressed input reads the same.
	gz, _, err := ReadDeploys(bytes.NewReader(gzipBytes(t, fixture(t, "deploys.jsonl"))))
	if err != nil || !reflect.DeepEqual(gz, want) {
		t.Errorf("gzip deploys: %v %+v", err, gz)
	}
}

// TestReadDeploysAliases: deploy exports that name the fields as log
// labels, CD systems or GitHub do are read as the contract's fields; the
// contract's own name wins when both are there.
func TestReadDeploysAliases(t *testing.T) {
	for _, tc := range []struct {
		line string
		want incident.Deploy
	}{
		{`{"deployed_at":"2026-11-20T10:30:00Z","app":"checkout","environment":"prod","tag":"v1.4.0","sha":"0123456"}`,
			incident.Deploy{Time: ts("2026-11-20T10:30:00Z"), Service: "checkout", Env: "prod", Version: "v1.4.0", Commit: "0123456"}},
		{`{"time":"2026-11-20T10:30:00Z","service.name":"api","deployment.environment.name":"staging","service.version":"2.0.0","revision":"89abcdef"}`,
			incident.Deploy{Time: ts("2026-11-20T10:30:00Z"), Service: "api", Env: "staging", Version: "2.0.0", Commit: "89abcdef"}},
		{`{"timestamp":"2026-11-20T10:30:00Z","created_at":"2020-01-01T00:00:00Z","service":"a","app":"b","commit":"abc1234","sha":"fff0000"}`,
			incident.Deploy{Time: ts("2026-11-20T10:30:00Z"), Service: "a", Commit: "abc1234"}},
	} {
		got, st, err := ReadDeploys(strings.NewReader(tc.line + "\n"))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%s:\n got %+v (%v, %v)\nwant %+v", tc.line, got, st.FirstProblems, err, tc.want)
		}
	}
}

// TestReadDeploysArray: deploy events saved as one JSON array (an API's
// response, GitHub's deployments here) read as the lines would.
func TestReadDeploysArray(t *testing.T) {
	in := `[
  {"id": 1, "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "v1.4.0", "task": "deploy", "environment": "prod", "created_at": "2026-11-20T10:30:00Z", "app": "checkout", "tag": "v1.4.0"},
  {"id": 2, "environment": "prod", "created_at": "2026-11-19T09:00:00Z"},
  {"timestamp": "2026-11-19T08:00:00Z", "service": "checkout", "env": "prod", "version": "v1.3.9"}
]`
	got, st, err := ReadDeploys(strings.NewReader(in))
	want := []incident.Deploy{
		{Time: ts("2026-11-19T08:00:00Z"), Service: "checkout", Env: "prod", Version: "v1.3.9"},
		{Time: ts("2026-11-20T10:30:00Z"), Service: "checkout", Env: "prod", Version: "v1.4.0", Commit: "0123456789abcdef0123456789abcdef01234567"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("array: %v\n got %+v\nwant %+v", err, got, want)
	}
	if st.Entries != 2 || st.Malformed != 1 || len(st.FirstProblems) != 1 || !strings.Contains(st.FirstProblems[0], "element 2: neither version nor commit") {
		t.Errorf("stats %+v, want 2 read and element 2 malformed", st)
	}
	if _, _, err := ReadDeploys(strings.NewReader(`[{"timestamp": "2026-11-19T08:00:00Z", "commit": "abc1234"}, {`)); err == nil {
		t.Error("a cut array read without an error")
	}
}

func TestNormalizeLabels(t *testing.T) {
	tests := []struct{ in, want map[string]string }{
		{map[string]string{"service_name": "a", "app": "b"}, map[string]string{"service": "a", "app": "b"}},
		{map[string]string{"service.name": "a", "deployment.environment.name": "prod", "service.version": "1"},
			map[string]string{"service": "a", "env": "prod", "version": "1"}},
		{map[string]string{"service": "keep", "job": "ns/x"}, map[string]string{"service": "keep", "job": "ns/x"}},
		{map[string]string{"service_name": "unknown_service", "job": "ns/x", "environment": "dev", "service_version": "2"},
			map[string]string{"service_name": "unknown_service", "service": "ns/x", "env": "dev", "version": "2"}},
		{map[string]string{"app": "", "job": "j", "deployment_environment": "e"}, map[string]string{"app": "", "service": "j", "env": "e"}},
		// The OTel attributes as Loki names them (no dots in label names).
		{map[string]string{"service_name": "a", "deployment_environment_name": "prod", "service_version": "1"},
			map[string]string{"service": "a", "env": "prod", "version": "1"}},
		// Loki 3's detected level is the entry's, not the stream's.
		{map[string]string{"service": "a", "detected_level": "error"}, map[string]string{"service": "a"}},
		{nil, map[string]string{}},
	}
	for _, tc := range tests {
		in := map[string]string{}
		for k, v := range tc.in {
			in[k] = v
		}
		if got := NormalizeLabels(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NormalizeLabels(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if tc.in != nil && !reflect.DeepEqual(in, tc.in) {
			t.Errorf("NormalizeLabels modified its input: %v", tc.in)
		}
	}
}
