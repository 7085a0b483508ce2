package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	panicparse "github.com/maruel/panicparse/v2/stack"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
	"github.com/faultline-dev/faultline/telemetry"
)

// The harness's numbers mean something only if its inputs are what the
// README says: these tests check the generators and the measured code
// paths, not speed.

func TestGoDumpIsParsedByBoth(t *testing.T) {
	dump := stacktest.GoDump(50)
	if err := checkGoTrace(parseGoDump(dump)); err != nil {
		t.Fatal(err)
	}
	snap, _, err := panicparse.ScanSnapshot(bytes.NewReader(dump), io.Discard, &panicparse.Opts{})
	if snap == nil || len(snap.Goroutines) != 51 {
		t.Fatalf("panicparse read %v goroutines (%v), want 51", snap, err)
	}
}

// TestMixedLogIncidents: the generated log holds exactly the generator's
// distinct crashes, each mapped into the generated workspace, and a log
// four times longer holds the same incidents (the premise of the memory
// rows).
func TestMixedLogIncidents(t *testing.T) {
	dir := t.TempDir()
	ws, err := benchWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(size int64) []string {
		p := filepath.Join(dir, "mixed.jsonl")
		if _, err := writeMixedLog(p, size, 7, crashStorm); err != nil {
			t.Fatal(err)
		}
		res, srcs, err := ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(p, nil)}, telemetry.Query{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st := srcs[0].Stats; st.Malformed != 0 || st.Format != "jsonl" {
			t.Fatalf("generated log read as %q with %d malformed lines: %v", st.Format, st.Malformed, st.FirstProblems)
		}
		var out []string
		for _, inc := range res.Incidents {
			if inc.Location == nil {
				t.Errorf("incident %s %q has no workspace location", inc.ErrorType, inc.Message)
			}
			out = append(out, inc.ID)
		}
		sort.Strings(out)
		return out
	}
	small := ids(2 << 20)
	if len(small) != distinctIncidents {
		t.Fatalf("%d incidents in the 1x log, want %d", len(small), distinctIncidents)
	}
	if big := ids(8 << 20); strings.Join(big, ",") != strings.Join(small, ",") {
		t.Errorf("the 4x log holds other incidents than the 1x log:\n%v\n%v", big, small)
	}
}

func TestRenderEscapesCells(t *testing.T) {
	var b strings.Builder
	render(&b, []row{{Name: "a|b", Measured: "1 MB/s", Ratio: "2x", Target: ">= 3x", Met: met(false)}})
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(got) != 3 {
		t.Fatalf("want header, separator and one row, got %q", got)
	}
	if want := `| a\|b | 1 MB/s | — | 2x | >= 3x | **no** |`; got[2] != want {
		t.Errorf("row = %q, want %q", got[2], want)
	}
}

// everything is a Gate that needs every entry: a run with it is a run in
// which every entry reaches the analyzer.
type everything struct{}

func (everything) Candidate(string) bool                  { return true }
func (everything) Skip(map[string]string, time.Time) bool { return false }

// TestGateChangesNothing: the entries the run's gate lets the file source
// skip (not a crash line, stream idle) change nothing in the result. The
// mixed log interleaves crashes of 200 streams with their noise, so many
// streams are open at once and noise lands inside open traces.
func TestGateChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ws, err := benchWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "mixed.jsonl")
	if _, err := writeMixedLog(p, 4<<20, 9, crashStorm); err != nil {
		t.Fatal(err)
	}
	// Checkout is deployed early on: the deploy is read from the first
	// entry with the new version label, most likely a skipped one.
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i := len(lines) / 100; i < len(lines); i++ {
		if bytes.Contains(lines[i], []byte(`"service":"checkout"`)) {
			lines[i] = bytes.Replace(lines[i], []byte(`"version":"v1.4.0"`), []byte(`"version":"v1.5.0"`), 1)
		}
	}
	if err := os.WriteFile(p, bytes.Join(lines, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(q telemetry.Query) ([]byte, analysis.Stats, int) {
		res, srcs, err := ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(p, nil)}, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(res.Incidents)
		if err != nil {
			t.Fatal(err)
		}
		return out, res.Stats, srcs[0].Stats.Entries
	}
	gated, gatedSt, gatedN := run(telemetry.Query{})
	full, fullSt, fullN := run(telemetry.Query{Gate: everything{}})
	if gatedSt.Reassembly.Traces < 100 {
		t.Fatalf("only %d traces: the log does not exercise reassembly", gatedSt.Reassembly.Traces)
	}
	if string(gated) != string(full) {
		t.Errorf("incidents differ with the gate:\n%s\nwithout:\n%s", gated, full)
	}
	if !reflect.DeepEqual(gatedSt, fullSt) || gatedN != fullN {
		t.Errorf("stats differ with the gate: %+v (%d entries), without: %+v (%d entries)", gatedSt, gatedN, fullSt, fullN)
	}
}
