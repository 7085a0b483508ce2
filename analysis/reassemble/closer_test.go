package reassemble

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TestPipeline: a Reassembler that parses closed blocks on a goroutine of
// its own must emit what the plain one emits, in the same order, with the
// same counts, across several Waits (the goroutine ends and starts again)
// and a frameless block; Stats must include every block closed so far.
func TestPipeline(t *testing.T) {
	crashes := []string{goPanic, pyTrace, "panic: frameless\n\nexit status 2"}
	var events []incident.Event
	ts := t0
	for i := range 3 * closerBatch {
		labels := map[string]string{"service": fmt.Sprint("svc", i%7)}
		for _, line := range strings.Split(crashes[i%len(crashes)], "\n") {
			events = append(events, incident.Event{Time: ts, Labels: labels, Line: line})
			ts = ts.Add(time.Millisecond)
		}
		events = append(events, incident.Event{Time: ts, Labels: labels, Line: "INFO restarted"})
	}
	// Flush closes the blocks still open in map order: the order is
	// compared up to the last Flush, the rest by time.
	run := func(pipelined bool) ([]Occurrence, []Stats) {
		got, emit := collect()
		r := New(emit)
		if pipelined {
			r.Pipeline()
		}
		var stats []Stats
		for i, e := range events {
			r.Add(e)
			if i == len(events)/3 {
				r.Wait()
				stats = append(stats, r.Stats())
			}
		}
		r.Wait()
		n := len(*got)
		r.Flush()
		stats = append(stats, r.Stats())
		r.Flush() // nothing left: returns at once
		tail := (*got)[n:]
		sort.Slice(tail, func(i, j int) bool { return tail[i].Time.Before(tail[j].Time) })
		return *got, stats
	}
	want, wantStats := run(false)
	got, gotStats := run(true)
	if len(want) < 2*closerBatch {
		t.Fatalf("only %d traces: the test must cross batches", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pipelined: %d occurrences, plain %d, or not the same ones in the same order: %s", len(got), len(want), firstDiff(got, want))
	}
	if !reflect.DeepEqual(gotStats, wantStats) {
		t.Errorf("pipelined stats %+v, plain %+v", gotStats, wantStats)
	}
	if wantStats[1].Frameless == 0 || wantStats[0].Traces == 0 {
		t.Errorf("stats %+v: the test needs frameless blocks and traces before the first Wait", wantStats)
	}
}

func firstDiff(a, b []Occurrence) string {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return fmt.Sprintf("#%d:\n%#v\n%#v", i, a[i], b[i])
		}
	}
	return ""
}
