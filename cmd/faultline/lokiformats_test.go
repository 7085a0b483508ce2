package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
	"github.com/faultline-dev/faultline/telemetry"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// TestLokiShapedScenarios reads every crash scenario's logs the other ways
// users hand them to `faultline check`, and checks that every incident is
// found at the same file and line, with the same count and culprit, as
// from the scenario's logcli jsonl:
//
//   - a saved query_range response (direction backward, Loki's default:
//     newest first, one result per stream), and one saved forward;
//   - the same query saved page by page, as logcli or a script pages it
//     (each next page ends 1ns after the oldest entry of the one before, so
//     the entries at that nanosecond repeat), the files given newest first,
//     plain and gzip compressed;
//   - Loki's HTTP API (the fake Loki, filled through the push path) read
//     through --source loki:, the server's max_entries_limit_per_query 7,
//     so that the client pages by 7 and pages end in the middle of traces;
//   - as Loki 3 stores the entries, each with its detected_level as
//     structured metadata: a response saved without categorized labels
//     (the level among the stream labels splits each stream by level),
//     logcli's jsonl of it, and --source loki: (which asks for categorized
//     labels);
//   - a plain-text capture of the stream that crashed, labels from flags;
//   - the Loki shapes again after a shipper that stamps entries to the
//     second (many entries of a trace share one timestamp), compared with
//     that shipper's own jsonl (not a level-split saved response: the
//     order of a stream's parts within one second is lost in it).
//
// FAULTLINE_SCENARIO=a,b limits it to some scenarios.
func TestLokiShapedScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every scenario through eleven Loki shapes; the race run (-short) leaves it to the full run")
	}
	all, err := scenario.LoadAll(faultline.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	only := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("FAULTLINE_SCENARIO"), ",") {
		if n != "" {
			only[n] = true
		}
	}
	var checked, paths int
	for _, s := range all {
		if s.Expect == nil || (len(only) > 0 && !only[s.Name]) {
			continue
		}
		made, err := s.Make(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		entries, err := readLogcli(made.Logs)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		bare := checkFiles(t, s.Name, made.Repo, made.Logs, made.Deploys)
		dir := t.TempDir()
		n := compareShapes(t, s, made, bare, entries, dir, "")
		n += compareTextLogs(t, s, made, bare, entries, dir)

		// A shipper that stamps to the second: compare its shapes with its
		// own jsonl (Loki keeps one of entries alike in stream, time and
		// line, so the jsonl holds what Loki would).
		coarse := truncateTimes(entries, time.Second)
		coarseLogs := filepath.Join(dir, "coarse.jsonl")
		if err := writeLogcli(coarseLogs, coarse); err != nil {
			t.Fatal(err)
		}
		coarseBare := checkArgs(t, s.Name, "--repo", made.Repo, "--logs", coarseLogs, "--deploys", made.Deploys)
		n += compareShapes(t, s, made, coarseBare, coarse, dir, "second-stamped ")
		checked += n
		paths++
	}
	if checked == 0 {
		t.Fatal("no incident checked")
	}
	t.Logf("%d scenarios, %d incident checks alike across query_range, pages, loki paging, Loki 3 levels, plain text (and second-stamped)", paths, checked)
}

// compareShapes checks one scenario's entries through every Loki shape
// against want, the incidents from its jsonl. It returns how many
// incidents were compared.
func compareShapes(t *testing.T, s *scenario.Scenario, made scenario.Made, want []incident.Incident, entries []logEntry, dir, prefix string) int {
	t.Helper()
	dir, err := os.MkdirTemp(dir, "shapes")
	if err != nil {
		t.Fatal(err)
	}
	entries = lokiLabels(entries)
	ordered := lokiOrder(entries)

	qr := filepath.Join(dir, "query_range.json")
	if err := os.WriteFile(qr, queryRangeJSON(ordered, true), 0o644); err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]incident.Incident{}
	shapes["query_range backward"] = checkArgs(t, s.Name, "--repo", made.Repo, "--logs", qr, "--deploys", made.Deploys)
	qrf := filepath.Join(dir, "query_range-forward.json")
	if err := os.WriteFile(qrf, queryRangeJSON(ordered, false), 0o644); err != nil {
		t.Fatal(err)
	}
	shapes["query_range forward"] = checkArgs(t, s.Name, "--repo", made.Repo, "--logs", qrf, "--deploys", made.Deploys)

	args := []string{"--repo", made.Repo, "--deploys", made.Deploys}
	// Pages of 20 entries, or more when more share one time: paging by
	// time (logcli, or Loki's own client) cannot get past a nanosecond
	// holding more entries than one query returns.
	most, run := 0, 0
	for i := range ordered {
		if i > 0 && ordered[i].at.Equal(ordered[i-1].at) {
			run++
		} else {
			run = 1
		}
		most = max(most, run)
	}
	gzArgs := append([]string(nil), args...)
	for i, page := range backwardPages(ordered, max(20, most+1)) {
		p := filepath.Join(dir, fmt.Sprintf("page-%03d.json", i+1))
		body := queryRangeJSON(page, true)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--logs", p)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(body)
		zw.Close()
		if err := os.WriteFile(p+".gz", gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		gzArgs = append(gzArgs, "--logs", p+".gz")
	}
	shapes["query_range pages"] = checkArgs(t, s.Name, args...)
	shapes["query_range pages gzip"] = checkArgs(t, s.Name, gzArgs...)

	// A Loki whose max_entries_limit_per_query is 7 (or just above the
	// most entries of one time): the client's first query (5000) is
	// refused, and it pages by that, inside traces.
	srv := lokitest.New()
	defer srv.Close()
	srv.MaxEntriesLimit = max(7, most+1)
	pushEntries(t, srv.URL, entries)
	start, end := ordered[0].at, ordered[len(ordered)-1].at
	shapes["loki paged"] = checkArgs(t, s.Name, "--repo", made.Repo, "--source", "loki:"+srv.URL, "--deploys", made.Deploys,
		"--start", start.Add(-time.Second).Format(time.RFC3339Nano), "--end", end.Add(time.Second).Format(time.RFC3339Nano))

	// Loki 3 adds detected_level to every entry as structured metadata. A
	// client that does not ask for categorized labels gets it among the
	// stream labels, so the lines of one trace (their levels differ) come
	// in several streams: a response saved so, and logcli's jsonl of it.
	leveled := make([]logEntry, len(ordered))
	for i, e := range ordered {
		l := map[string]string{"detected_level": detectedLevel(e.line)}
		for k, v := range e.labels {
			l[k] = v
		}
		e.labels, e.key = l, promLabels(l)
		leveled[i] = e
	}
	qr3 := filepath.Join(dir, "query_range-loki3.json")
	if err := os.WriteFile(qr3, queryRangeJSON(leveled, true), 0o644); err != nil {
		t.Fatal(err)
	}
	shapes["loki 3 query_range"] = checkArgs(t, s.Name, "--repo", made.Repo, "--logs", qr3, "--deploys", made.Deploys)
	jsonl3 := filepath.Join(dir, "loki3.jsonl")
	if err := writeLogcli(jsonl3, leveled); err != nil {
		t.Fatal(err)
	}
	shapes["loki 3 logcli jsonl"] = checkArgs(t, s.Name, "--repo", made.Repo, "--logs", jsonl3, "--deploys", made.Deploys)
	srv3 := lokitest.New()
	defer srv3.Close()
	srv3.MaxEntriesLimit = max(7, most+1)
	pushLeveled(t, srv3.URL, entries)
	shapes["loki 3 paged"] = checkArgs(t, s.Name, "--repo", made.Repo, "--source", "loki:"+srv3.URL, "--deploys", made.Deploys,
		"--start", start.Add(-time.Second).Format(time.RFC3339Nano), "--end", end.Add(time.Second).Format(time.RFC3339Nano))

	n := 0
	for _, exp := range s.Expect.Incidents {
		b := matchIncident(want, exp)
		if b == nil || b.Location == nil {
			if prefix != "" {
				// Loki keeps one of the entries of a stream alike in time
				// and line: stamped to the second, a trace that repeats a
				// line (a chained Python traceback's second "Traceback
				// (most recent call last):") loses it at ingestion.
				t.Logf("%s: %sjsonl: %q not found", s.Name, prefix, exp.ErrorType)
			}
			continue // TestScenarios reports it
		}
		for _, shape := range []string{"query_range backward", "query_range forward", "query_range pages", "query_range pages gzip", "loki paged", "loki 3 query_range", "loki 3 logcli jsonl", "loki 3 paged"} {
			if shape == "loki 3 query_range" && prefix != "" {
				// Split by level, a stream's entries of one second come
				// in parts whose order the response does not keep.
				continue
			}
			n++
			g := matchIncident(shapes[shape], exp)
			if !sameIncident(b, g) {
				t.Errorf("%s: %s%s: got %s %s, from jsonl %s %s", s.Name, prefix, shape, describe(g), countOf(g), describe(b), countOf(b))
			}
		}
	}
	return n
}

func sameIncident(a, b *incident.Incident) bool {
	if a == nil || b == nil || a.Location == nil || b.Location == nil {
		return false
	}
	if a.Location.File != b.Location.File || a.Location.Line != b.Location.Line || a.Count != b.Count ||
		a.Service != b.Service || a.Env != b.Env || strings.Join(a.Versions, ",") != strings.Join(b.Versions, ",") {
		return false
	}
	return suspectOf(a) == suspectOf(b)
}

func suspectOf(inc *incident.Incident) string {
	if inc.RootCause == nil || inc.RootCause.SuspectCommit == nil {
		return ""
	}
	return inc.RootCause.SuspectCommit.SHA
}

func countOf(inc *incident.Incident) string {
	if inc == nil {
		return ""
	}
	return fmt.Sprintf("(%dx in %s/%s %v)", inc.Count, inc.Service, inc.Env, inc.Versions)
}

// checkArgs runs `faultline check --format json` with args.
func checkArgs(t *testing.T, name string, args ...string) []incident.Incident {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"check", "--format", "json"}, args...), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("%s: check exited %d: %s", name, code, stderr.String())
	}
	var out struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%s: check output is not the JSON contract: %v", name, err)
	}
	return out.Incidents
}

// logEntry is one entry of a scenario's logs.
type logEntry struct {
	labels map[string]string
	key    string // Loki's stream identity
	line   string
	at     time.Time
}

// readLogcli reads a logcli jsonl file, oldest first (logcli writes newest
// first by default).
func readLogcli(path string) ([]logEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []logEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logcliLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		at, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			return nil, err
		}
		out = append(out, logEntry{l.Labels, promLabels(l.Labels), l.Line, at})
	}
	if len(out) > 1 && out[0].at.After(out[len(out)-1].at) {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// writeLogcli writes entries as logcli jsonl, in their order.
func writeLogcli(path string, entries []logEntry) error {
	var b bytes.Buffer
	for _, e := range entries {
		line, _ := json.Marshal(logcliLine{Labels: e.labels, Line: e.line, Timestamp: e.at.Format(time.RFC3339Nano)})
		b.Write(append(line, '\n'))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// truncateTimes stamps entries to a coarser clock, keeping their order,
// and drops those Loki would keep only once (same stream, time and line).
func truncateTimes(entries []logEntry, d time.Duration) []logEntry {
	seen := map[string]bool{}
	var out []logEntry
	for _, e := range entries {
		e.at = e.at.Truncate(d)
		id := e.key + "\x00" + strconv.FormatInt(e.at.UnixNano(), 10) + "\x00" + e.line
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, e)
	}
	return out
}

// lokiOrder sorts entries as Loki answers direction=forward: by time, then
// stream, then the order they were pushed in.
func lokiOrder(entries []logEntry) []logEntry {
	out := append([]logEntry(nil), entries...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].key < out[j].key
	})
	return out
}

// queryRangeJSON renders forward-ordered entries as Loki's query_range
// response: direction backward is the exact reverse of forward; the result
// lists each stream once, in order of first appearance, its values in the
// response's order.
func queryRangeJSON(forward []logEntry, backward bool) []byte {
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	order := append([]logEntry(nil), forward...)
	if backward {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	index := map[string]int{}
	result := []stream{}
	for _, e := range order {
		i, ok := index[e.key]
		if !ok {
			i = len(result)
			index[e.key] = i
			result = append(result, stream{Stream: e.labels})
		}
		result[i].Values = append(result[i].Values, [2]string{strconv.FormatInt(e.at.UnixNano(), 10), e.line})
	}
	body, _ := json.Marshal(map[string]any{
		"status": "success",
		"data": map[string]any{
			"resultType": "streams",
			"result":     result,
			"stats": map[string]any{"summary": map[string]any{
				"bytesProcessedPerSecond": 1, "linesProcessedPerSecond": 1,
				"totalBytesProcessed": 1, "totalLinesProcessed": len(order),
				"execTime": 0.001, "queueTime": 0, "subqueries": 0, "totalEntriesReturned": len(order),
			}},
		},
	})
	return body
}

// backwardPages pages forward-ordered entries as logcli pages a backward
// query: a page is the newest limit entries before end; the next page's
// end is 1ns past the oldest entry of the page, so the entries at that
// nanosecond come again (logcli drops them; a saved page keeps them).
// Each page is returned forward-ordered, newest page first.
func backwardPages(forward []logEntry, limit int) [][]logEntry {
	var pages [][]logEntry
	end := len(forward) // entries [0, end) are before the end time
	for end > 0 {
		from := max(0, end-limit)
		page := forward[from:end]
		pages = append(pages, page)
		if from == 0 {
			break
		}
		oldest := page[0].at
		next := from
		for next < end && forward[next].at.Equal(oldest) {
			next++
		}
		if next == end { // the whole page at one time: nothing older is reachable this way
			next = from
		}
		end = next
	}
	return pages
}

// pushEntries sends entries to Loki's push endpoint, one request per
// stream, as pushFile does for a file.
func pushEntries(t *testing.T, url string, entries []logEntry) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "push.jsonl")
	if err := writeLogcli(path, entries); err != nil {
		t.Fatal(err)
	}
	pushFile(t, url, path)
}

// lokiLabels names labels as Loki stores them: a label name is
// [a-zA-Z_][a-zA-Z0-9_]*, so what an OTLP resource attribute is called
// (service.name, deployment.environment.name) reaches Loki, and comes back
// from it, with underscores (service_name, deployment_environment_name).
func lokiLabels(entries []logEntry) []logEntry {
	out := make([]logEntry, len(entries))
	for i, e := range entries {
		l := make(map[string]string, len(e.labels))
		for k, v := range e.labels {
			l[strings.Map(func(r rune) rune {
				if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
					return r
				}
				return '_'
			}, k)] = v
		}
		e.labels, e.key = l, promLabels(l)
		out[i] = e
	}
	return out
}

// compareTextLogs checks each incident found in the scenario's jsonl
// against a plain-text capture of the stream that crashed (the stderr of
// one container, its labels given as --service, --env and --version):
// once as `docker logs -t` prints it (each line after its time) and once
// bare, its times counted from the file's modification time, set to the
// stream's first entry. The incident must be at the same file and line,
// with the same culprit; its count is what that one stream holds of it.
func compareTextLogs(t *testing.T, s *scenario.Scenario, made scenario.Made, bare []incident.Incident, entries []logEntry, dir string) int {
	t.Helper()
	byStream := map[string][]logEntry{}
	for _, e := range entries {
		byStream[e.key] = append(byStream[e.key], e)
	}
	n := 0
	for _, exp := range s.Expect.Incidents {
		b := matchIncident(bare, exp)
		if b == nil || b.Location == nil {
			continue
		}
		// The stream of the incident's service, env and a version of it
		// that names the error most often.
		var best []logEntry
		hits := 0
		for _, es := range byStream {
			l := telemetry.NormalizeLabels(es[0].labels)
			if l["service"] != b.Service || l["env"] != b.Env || (l["version"] != "" && !slices.Contains(b.Versions, l["version"])) {
				continue
			}
			h := 0
			for _, e := range es {
				if strings.Contains(strings.ToLower(e.line), strings.ToLower(exp.ErrorType)) {
					h++
				}
			}
			if h > hits {
				best, hits = es, h
			}
		}
		if best == nil {
			t.Errorf("%s: no stream of %s/%s %v names %q", s.Name, b.Service, b.Env, b.Versions, exp.ErrorType)
			continue
		}
		l := telemetry.NormalizeLabels(best[0].labels)
		for _, stamped := range []bool{true, false} {
			var text strings.Builder
			for _, e := range best {
				if stamped {
					text.WriteString(e.at.Format(time.RFC3339Nano) + " ")
				}
				text.WriteString(e.line + "\n")
			}
			p := filepath.Join(dir, fmt.Sprintf("%s-%v.log", exp.ID, stamped))
			if err := os.WriteFile(p, []byte(text.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, best[0].at, best[0].at); err != nil {
				t.Fatal(err)
			}
			args := []string{"--repo", made.Repo, "--logs", p, "--deploys", made.Deploys, "--service", l["service"], "--env", l["env"]}
			if l["version"] != "" {
				args = append(args, "--version", l["version"])
			}
			got := matchIncident(checkArgs(t, s.Name, args...), exp)
			n++
			if g := got; g == nil || g.Location == nil || g.Location.File != b.Location.File || g.Location.Line != b.Location.Line || suspectOf(g) != suspectOf(b) {
				t.Errorf("%s: plain text (timestamps %v): got %s, from jsonl %s", s.Name, stamped, describe(got), describe(b))
			}
		}
	}
	return n
}

// detectedLevel is the level Loki 3 detects in a line without a level
// field: the first level word it holds, else "unknown".
func detectedLevel(line string) string {
	for _, w := range []struct{ word, level string }{
		{"fatal", "fatal"}, {"panic", "critical"}, {"critical", "critical"}, {"error", "error"}, {"exception", "error"},
		{"warn", "warn"}, {"info", "info"}, {"debug", "debug"}, {"trace", "trace"},
	} {
		if strings.Contains(strings.ToLower(line), w.word) {
			return w.level
		}
	}
	return "unknown"
}

// pushLeveled pushes entries as Loki 3 stores them: each with its
// detected_level as structured metadata.
func pushLeveled(t *testing.T, url string, entries []logEntry) {
	t.Helper()
	streams := map[string]*push.Stream{}
	var keys []string
	for _, e := range entries {
		st := streams[e.key]
		if st == nil {
			st = &push.Stream{Labels: e.key}
			streams[e.key] = st
			keys = append(keys, e.key)
		}
		st.Entries = append(st.Entries, push.Entry{Timestamp: e.at, Line: e.line,
			StructuredMetadata: push.LabelsAdapter{{Name: "detected_level", Value: detectedLevel(e.line)}}})
	}
	for _, k := range keys {
		pushStream(t, url, streams[k])
	}
}
