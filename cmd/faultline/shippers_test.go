package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
)

// TestRuntimePrefixedScenarios runs every crash scenario again with its log
// lines as a Kubernetes node writes them (kubelet's CRI format, "TIME
// stderr F line") and stored in Loki unparsed, which is what a log
// pipeline without a CRI stage ships: every incident must be found at the
// same file and line as from the bare lines.
func TestRuntimePrefixedScenarios(t *testing.T) {
	checkReshipped(t, "the runtime prefix", criJSONL)
}

// TestMultilineEntryScenarios runs every crash scenario again with each
// trace joined into one Loki entry, as a log pipeline with a multiline
// stage ships it (or a logger that writes a message and its trace as one
// record): every incident must be found at the same file and line, with
// the same count.
func TestMultilineEntryScenarios(t *testing.T) {
	checkReshipped(t, "joined entries", func(from, to string) error {
		merged, err := joinBursts(from, to)
		if err == nil && merged == 0 {
			err = fmt.Errorf("no entries joined in %s", from)
		}
		return err
	})
}

// checkReshipped checks every scenario's incidents against those found
// after reship rewrote its logs.
func checkReshipped(t *testing.T, what string, reship func(from, to string) error) {
	all, err := scenario.LoadAll(faultline.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, s := range all {
		if s.Expect == nil {
			continue
		}
		made, err := s.Make(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		bare := checkFiles(t, s.Name, made.Repo, made.Logs, made.Deploys)
		reshipped := filepath.Join(t.TempDir(), "reshipped.jsonl")
		if err := reship(made.Logs, reshipped); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		got := checkFiles(t, s.Name, made.Repo, reshipped, made.Deploys)
		for _, want := range s.Expect.Incidents {
			b, g := matchIncident(bare, want), matchIncident(got, want)
			if b == nil || b.Location == nil {
				continue // TestScenarios reports it
			}
			checked++
			if g == nil || g.Location == nil || g.Location.File != b.Location.File || g.Location.Line != b.Location.Line || g.Count != b.Count {
				t.Errorf("%s: with %s got %s, from the scenario's logs %s:%d (%dx)", s.Name, what, describe(g), b.Location.File, b.Location.Line, b.Count)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no incident checked")
	}
	t.Logf("%d incidents found alike with %s", checked, what)
}

// joinBursts rewrites a logcli jsonl file as a multiline stage would: the
// entries of a stream that follow each other within 100 ms (a process
// printing a trace) become one entry, their lines joined by newlines, at
// the first one's time. It returns how many entries were folded into
// others.
func joinBursts(from, to string) (int, error) {
	data, err := os.ReadFile(from)
	if err != nil {
		return 0, err
	}
	type entry struct {
		l  logcliLine
		at time.Time
	}
	var entries []*entry
	last := map[string]*entry{} // the open entry of each stream
	merged := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	var order []*entry
	for sc.Scan() {
		var l logcliLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return 0, err
		}
		at, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			return 0, err
		}
		order = append(order, &entry{l, at})
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].at.Before(order[j].at) })
	for _, e := range order {
		key := fmt.Sprint(e.l.Labels)
		if prev := last[key]; prev != nil && e.at.Sub(prev.at) < 100*time.Millisecond {
			prev.l.Line += "\n" + e.l.Line
			prev.at = e.at // the burst goes on
			merged++
			continue
		}
		last[key] = e
		entries = append(entries, e)
	}
	var out bytes.Buffer
	for _, e := range entries {
		b, _ := json.Marshal(e.l)
		out.Write(append(b, '\n'))
	}
	return merged, os.WriteFile(to, out.Bytes(), 0o644)
}

// TestRuntimePrefixedTextLog reads a crash from a kubelet log file (plain
// text, one stream, labels from flags), the file a user copies off a node,
// and from the output of `docker logs -t` (a timestamp and one space).
func TestRuntimePrefixedTextLog(t *testing.T) {
	all, err := scenario.LoadAll(faultline.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Expect == nil || len(s.Expect.Incidents) != 1 || s.Meta.Language != "go" {
			continue
		}
		made, err := s.Make(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		want := s.Expect.Incidents[0]
		for _, format := range []string{"%s stderr F %s\n", "%s %s\n"} {
			checkTextLog(t, s, made, want, format)
		}
		return
	}
	t.Fatal("no single-incident Go scenario")
}

func checkTextLog(t *testing.T, s *scenario.Scenario, made scenario.Made, want scenario.ExpectedIncident, format string) {
	{
		text, err := criText(made.Logs, want, format)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "0.log")
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"check", "--repo", made.Repo, "--logs", path, "--deploys", made.Deploys, "--service", s.Meta.Service, "--env", s.Meta.Env, "--format", "json"}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%s: check exited %d: %s", s.Name, code, stderr.String())
		}
		var out struct {
			Incidents []incident.Incident `json:"incidents"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		inc := matchIncident(out.Incidents, want)
		if inc == nil || inc.Location == nil || inc.Location.File != want.File || inc.Location.Line != want.Line {
			t.Fatalf("%s from a text log (%q): want %s:%d, got %s\n%s", s.Name, format, want.File, want.Line, describe(inc), text[:min(len(text), 600)])
		}
	}
}

// logcliLine is one line of a logcli jsonl file.
type logcliLine struct {
	Labels    map[string]string `json:"labels"`
	Line      string            `json:"line"`
	Timestamp string            `json:"timestamp"`
}

func criJSONL(from, to string) error {
	return rewriteJSONL(from, func(l *logcliLine) { l.Line = l.Timestamp + " stderr F " + l.Line }, to)
}

func rewriteJSONL(from string, edit func(*logcliLine), to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logcliLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		edit(&l)
		b, _ := json.Marshal(l)
		out.Write(append(b, '\n'))
	}
	return os.WriteFile(to, out.Bytes(), 0o644)
}

// criText writes the stream that holds want's crash as a text log of that
// container, oldest first, each line printed with format (time, line).
func criText(logs string, want scenario.ExpectedIncident, format string) ([]byte, error) {
	data, err := os.ReadFile(logs)
	if err != nil {
		return nil, err
	}
	type entry struct {
		at   time.Time
		line string
	}
	byStream := map[string][]entry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logcliLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, err
		}
		at, err := time.Parse(time.RFC3339Nano, l.Timestamp)
		if err != nil {
			return nil, err
		}
		key := fmt.Sprint(l.Labels)
		byStream[key] = append(byStream[key], entry{at, l.Line})
	}
	// The stream holding the crash: the one whose lines name the error.
	for _, es := range byStream {
		var b strings.Builder
		found := false
		for _, e := range es {
			found = found || strings.Contains(strings.ToLower(e.line), strings.ToLower(want.ErrorType))
		}
		if !found {
			continue
		}
		for i := len(es) - 1; i >= 0; i-- { // logcli writes newest first
			fmt.Fprintf(&b, format, es[i].at.Format(time.RFC3339Nano), es[i].line)
		}
		if es[0].at.Before(es[len(es)-1].at) { // it was oldest first after all
			b.Reset()
			for _, e := range es {
				fmt.Fprintf(&b, format, e.at.Format(time.RFC3339Nano), e.line)
			}
		}
		return []byte(b.String()), nil
	}
	return nil, fmt.Errorf("no stream names %s", want.ErrorType)
}
