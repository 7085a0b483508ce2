package analysis

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
)

// parseSplitFixture reads a trace printed by a real run (testdata/split).
func parseSplitFixture(t *testing.T, p stack.Parser, name string) incident.Trace {
	t.Helper()
	b, err := os.ReadFile("testdata/split/" + name)
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Parse(strings.Split(strings.TrimRight(string(b), "\n"), "\n"))
	if len(tr.Frames) == 0 {
		t.Fatalf("%s: no frames", name)
	}
	return tr
}

// TestMergeSplit: one failure that fingerprinting split in two is one
// incident, with the occurrences of both; a different failure at the same
// line is not folded in.
func TestMergeSplit(t *testing.T) {
	frame := func(fn, path string, line int) incident.Frame {
		return incident.Frame{Function: fn, Path: path, Line: line}
	}
	goTrace := func(msg string, frames ...incident.Frame) incident.Trace {
		return incident.Trace{Language: "go", ErrorType: msg, Message: msg, Frames: frames}
	}
	add := frame("example.com/quota/batch.(*Batcher[...]).Add", "example.com/quota/batch/batch.go", 32)
	mainFn := frame("main.main.func1", "example.com/quota/main.go", 50)
	for _, tc := range []struct {
		name   string
		traces []incident.Trace
		want   []int // counts of the groups left, in order
	}{
		// A rejection thrown before run's first await prints the callers;
		// after it, V8's stack stops at run (node-pino-cjs-rejection-rename).
		{"node stack cut at an await", []incident.Trace{
			parseSplitFixture(t, stack.Node{}, "node_async_cut.txt"),
			parseSplitFixture(t, stack.Node{}, "node_async_full.txt"),
			parseSplitFixture(t, stack.Node{}, "node_async_cut.txt"),
		}, []int{3}},
		// panic(OverflowError{Batch: b.name}) names the tenant
		// (go-errgroup-generic-overflow).
		{"go custom panic naming a tenant", []incident.Trace{
			parseSplitFixture(t, stack.Go{}, "go_panic_t-umbrella.txt"),
			parseSplitFixture(t, stack.Go{}, "go_panic_t-globex.txt"),
		}, []int{2}},
		{"another error at the same line", []incident.Trace{
			goTrace("runtime error: index out of range", add, mainFn),
			goTrace("runtime error: invalid memory address or nil pointer dereference", add, mainFn),
		}, []int{1, 1}},
		{"same message, another line", []incident.Trace{
			goTrace("batch t-a overflowed", add, mainFn),
			goTrace("batch t-b overflowed", frame(add.Function, add.Path, 40), mainFn),
		}, []int{1, 1}},
		{"one word apart through other callers", []incident.Trace{
			goTrace("batch t-a overflowed", add, mainFn),
			goTrace("batch t-b overflowed", add, frame("main.replay", "example.com/quota/main.go", 70)),
		}, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, groups := mergeTraces(tc.traces)
			var got []int
			for _, id := range order {
				got = append(got, groups[id].count)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("groups %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("groups %v, want %v", got, tc.want)
				}
			}
			if len(groups) != len(order) {
				t.Errorf("%d groups kept for %d in order", len(groups), len(order))
			}
			// The ids left do not depend on which variant came first.
			reversed := slices.Clone(tc.traces)
			slices.Reverse(reversed)
			back, _ := mergeTraces(reversed)
			if a, b := slices.Sorted(slices.Values(order)), slices.Sorted(slices.Values(back)); !slices.Equal(a, b) {
				t.Errorf("ids %v, %v with the traces in reverse order", a, b)
			}
		})
	}
}

// mergeTraces groups traces as occurrence does, a minute apart, and
// merges the split groups.
func mergeTraces(traces []incident.Trace) ([]string, map[string]*group) {
	groups := map[string]*group{}
	var order []string
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	for i, tr := range traces {
		id := Fingerprint(tr)
		g := groups[id]
		if g == nil {
			g = &group{id: id, fingerprint: id, service: "svc", env: "prod",
				versions: map[string]*versionSample{}, buckets: map[int64]int{}}
			groups[id] = g
			order = append(order, id)
		}
		g.add(reassemble.Occurrence{Time: at.Add(time.Duration(i) * time.Minute), Trace: tr}, "v1")
	}
	return mergeSplit(groups, order), groups
}
