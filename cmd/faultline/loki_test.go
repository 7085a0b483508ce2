package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// TestLokiSourceMatchesFileSource pushes a scenario's production logs into a
// Loki (the in-memory one speaking Loki's HTTP API) through the real push
// path, as an agent would, then checks that `faultline check --source loki:`
// reports exactly the incidents the file source reports for the same
// entries. The scenarios cover the standard and the OTel-style label names.
func TestLokiSourceMatchesFileSource(t *testing.T) {
	for _, name := range []string{"demo", "py-zerodiv", "go-nilmap-buildpath", "java-aioobe-caused-by"} {
		t.Run(name, func(t *testing.T) {
			ms := makeScenario(t, name)
			repo, logs, deploys := ms.repo, ms.logs, ms.deploys
			srv := lokitest.New()
			defer srv.Close()
			start, end := pushFile(t, srv.URL, logs)

			fromFile := checkJSON(t, "--repo", repo, "--logs", logs, "--deploys", deploys)
			fromLoki := checkJSON(t, "--repo", repo, "--source", "loki:"+srv.URL, "--deploys", deploys,
				"--start", start.Format(time.RFC3339), "--end", end.Add(time.Second).Format(time.RFC3339))
			if len(fromFile) == 0 {
				t.Fatal("the file source found no incidents")
			}
			if a, b := summary(fromFile), summary(fromLoki); a != b {
				t.Errorf("loki and file sources differ:\nfile:\n%s\nloki:\n%s", a, b)
			}
		})
	}
}

// pushFile sends every entry of a logcli jsonl file to Loki's push endpoint,
// protobuf + snappy, one request per stream, and returns the time range.
func pushFile(t *testing.T, url, path string) (start, end time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	streams := map[string]*push.Stream{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Labels    map[string]string `json:"labels"`
			Line      string            `json:"line"`
			Timestamp time.Time         `json:"timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		key := promLabels(e.Labels)
		st := streams[key]
		if st == nil {
			st = &push.Stream{Labels: key}
			streams[key] = st
		}
		st.Entries = append(st.Entries, push.Entry{Timestamp: e.Timestamp, Line: e.Line})
		if start.IsZero() || e.Timestamp.Before(start) {
			start = e.Timestamp
		}
		if e.Timestamp.After(end) {
			end = e.Timestamp
		}
	}
	for _, st := range streams {
		sort.SliceStable(st.Entries, func(i, j int) bool { return st.Entries[i].Timestamp.Before(st.Entries[j].Timestamp) })
		pushStream(t, url, st)
	}
	return start, end
}

func promLabels(l map[string]string) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}

func checkJSON(t *testing.T, args ...string) []incident.Incident {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"check", "--format", "json"}, args...), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("check %v exited %d: %s", args, code, stderr.String())
	}
	var out struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Incidents
}

// summary renders what a user sees of each incident, sorted.
func summary(incs []incident.Incident) string {
	var rows []string
	for _, inc := range incs {
		loc := "-"
		if inc.Location != nil {
			loc = fmt.Sprintf("%s:%d", inc.Location.File, inc.Location.Line)
		}
		suspect := "-"
		if inc.RootCause != nil && inc.RootCause.SuspectCommit != nil {
			suspect = inc.RootCause.SuspectCommit.SHA[:7]
		}
		rows = append(rows, fmt.Sprintf("%s %s %s/%s %dx %s %s first=%s", inc.ID, inc.ErrorType, inc.Service, inc.Env,
			inc.Count, loc, suspect, inc.FirstSeen.Format(time.RFC3339Nano)))
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n")
}

// pushStream pushes one stream to the Loki at url as promtail does: a
// snappy-compressed protobuf PushRequest.
func pushStream(t *testing.T, url string, st *push.Stream) {
	t.Helper()
	raw, err := (&push.PushRequest{Streams: []push.Stream{*st}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push: %s", resp.Status)
	}
}
