package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/incident"
)

// messyJSONL writes a logcli jsonl file of n entries spanning many read
// chunks, with everything a real file throws at the reader: blank and CRLF
// lines, escapes and non-ASCII, invalid UTF-8, malformed JSON, bad
// timestamps, a label object with a '}' in a value, entries with keys in
// another order, a line just under MaxLineBytes and one over it, binary
// junk, and no newline at the end.
func messyJSONL(t testing.TB, n int, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	streams := []string{
		`{"service":"checkout","env":"prod","pod":"a"}`,
		`{"service":"checkout","env":"prod","pod":"b"}`,
		`{"service":"cart","weird":"x}y"}`,
		`{}`,
		`null`,
	}
	for i := range n {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		if rng.IntN(30) == 0 {
			ts = ts.Add(-time.Second) // an entry out of order
		}
		labels := streams[rng.IntN(len(streams))]
		line := fmt.Sprintf("entry %d keep=%v", i, rng.IntN(4) == 0)
		switch k := rng.IntN(60); k {
		case 0:
			b.WriteString("\n")
			continue
		case 1:
			b.WriteString("{not json\n")
			continue
		case 2:
			fmt.Fprintf(&b, `{"labels":%s,"line":"x","timestamp":"yesterday"}`+"\n", labels)
			continue
		case 3:
			b.WriteString("\x00\x01\x02\xff\xfe binary\n")
			continue
		case 4:
			fmt.Fprintf(&b, `{"timestamp":"%s","line":"reordered %d","labels":%s}`+"\r\n", ts.Format(time.RFC3339Nano), i, labels)
			continue
		case 5:
			line = "tab\there \"quoted\" caf\u00e9 \\ \U0001F600 " + line
		case 6:
			line += " bad utf8 \xff"
		case 7:
			if rng.IntN(20) == 0 {
				line = strings.Repeat("L", MaxLineBytes-200) + line
			}
		case 8:
			if rng.IntN(20) == 0 {
				line = strings.Repeat("X", MaxLineBytes+10) + line
			}
		case 9:
			line += " " + strings.Repeat("m", chunkSize/2)
		case 10:
			line = "an entry of two lines\n" + line
		case 11, 12:
			line = `level=info msg="quoted"	` + line // escapes, no backslash
		case 13: // indented, as a trace's continuation lines are
			line = "\tat com.acme.Cart.total(Cart.java:42) " + line
		case 14:
			line = `  File "/srv/app/cart.py", line 8, in total ` + line
		case 15:
			line = "\tcaf\u00e9 " + line // indented, not ASCII
		case 16:
			line = "    at total (/srv/app/cart.js:8:3) " + line // indented, no escape
		}
		q, _ := jsonMarshalString(line)
		// What may follow an entry's closing brace: a line end of either
		// kind, a blank (still valid JSON), a lone '\r' inside the line, or
		// junk (a malformed line).
		end := "\n"
		if k := rng.IntN(40); k < 5 {
			end = []string{"\r\n", " \n", "\r\r\n", "\rjunk\n", "} \n"}[k]
		}
		fmt.Fprintf(&b, `{"labels":%s,"line":%s,"timestamp":"%s"}`+end, labels, q, ts.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, `{"labels":{},"line":"last, without newline","timestamp":"%d"}`, t0.Add(time.Hour).UnixNano())
	return b.Bytes()
}

func jsonMarshalString(s string) (string, error) {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range []byte(s) {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteByte(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// sequentialJSONL reads data line by line, as the reader did before it was
// split over goroutines: the reference for the parallel one.
func sequentialJSONL(t *testing.T, path string, data []byte, q Query) ([]incident.Event, Stats) {
	t.Helper()
	var st Stats
	var got []incident.Event
	r := &reader{ctx: context.Background(), q: q, st: &st, origin: path, fn: func(e incident.Event) error {
		got = append(got, e)
		return nil
	}}
	lr := newLineReader(bufio.NewReaderSize(bytes.NewReader(data), readBufferSize))
	if err := r.readJSONL(lr); err != nil {
		t.Fatal(err)
	}
	st.Bytes = lr.consumed()
	return got, st
}

// TestParallelJSONLMatchesSequential reads the same messy files with the
// parallel reader and line by line: the entries, their order and origins,
// the counts and the problems must be the same.
func TestParallelJSONLMatchesSequential(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		data := messyJSONL(t, 3000, seed)
		path := filepath.Join(t.TempDir(), "messy.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		q := Query{Start: time.Date(2026, 11, 20, 10, 0, 0, 500e6, time.UTC)}
		want, wantSt := sequentialJSONL(t, path, data, q)
		got, st, err := collect(t, NewFileSource(path, nil), q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %d entries, %d malformed, %d truncated", seed, len(want), st.Malformed, st.Truncated)
		if st.Malformed == 0 || st.Truncated == 0 || len(want) < 2000 {
			t.Fatalf("seed %d: the file does not exercise the reader: %d entries, %+v", seed, len(want), wantSt)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d entries, line by line %d", seed, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("seed %d entry %d:\n got %.200v\nwant %.200v", seed, i, got[i], want[i])
			}
		}
		st.Format, wantSt.Format = "", ""
		if !reflect.DeepEqual(st, wantSt) {
			t.Fatalf("seed %d stats:\n got %+v\nwant %+v", seed, st, wantSt)
		}
	}
}

// keepGate wants the lines that say keep=true, and every line of pod b.
type keepGate struct{ skipped []time.Time }

func (*keepGate) Candidate(line string) bool  { return strings.Contains(line, "keep=true") }
func (g *keepGate) skippedTimes() []time.Time { return g.skipped }
func (g *keepGate) Skip(labels map[string]string, t time.Time) bool {
	if labels["pod"] == "b" {
		return false
	}
	g.skipped = append(g.skipped, t)
	return true
}

// TestGate checks that a source honouring a Gate delivers exactly the
// entries the gate asks for, in order, and hands every other entry of the
// window to Skip.
func TestGate(t *testing.T) {
	checkGate(t, &keepGate{})
}

// escKeepGate is keepGate refusing escaped lines before they are decoded.
type escKeepGate struct {
	keepGate
	escaped, newlines, backslashes atomic.Int64
}

func (g *escKeepGate) CandidateEscaped(raw string) bool {
	g.escaped.Add(1)
	if strings.Contains(raw, `\n`) {
		g.newlines.Add(1) // the contract: an entry of several lines is decoded
	}
	if strings.Contains(raw, `\\`) {
		g.backslashes.Add(1) // and so is one holding a backslash
	}
	return strings.Contains(raw, "keep=true")
}

// TestEscapedGate checks that refusing lines in their escaped form
// changes nothing in what is delivered and skipped.
func TestEscapedGate(t *testing.T) {
	g := &escKeepGate{}
	checkGate(t, g)
	if g.escaped.Load() == 0 {
		t.Fatal("CandidateEscaped was never asked: the file has escaped lines")
	}
	if n := g.newlines.Load(); n > 0 {
		t.Fatalf("CandidateEscaped was asked about %d entries of several lines", n)
	}
	if n := g.backslashes.Load(); n > 0 {
		t.Fatalf("CandidateEscaped was asked about %d entries holding a backslash", n)
	}
}

// borrowKeepGate is escKeepGate taking the entries Skip refuses with
// their lines borrowed; it keeps them in out beside fn's, as a consumer
// would, copying the line.
type borrowKeepGate struct {
	escKeepGate
	out      *[]incident.Event
	borrowed int
}

func (g *borrowKeepGate) Take(e incident.Event) {
	g.borrowed++
	e.Line = strings.Clone(e.Line)
	e.Origin = "taken"
	*g.out = append(*g.out, e)
}

// TestBorrowingGate checks that the entries Skip refuses reach Take, in
// delivery order among those fn gets, with the same lines, times and
// labels: the view of the reader's buffer it lends is the decoded line.
func TestBorrowingGate(t *testing.T) {
	path, all, _ := messyFile(t)
	var got []incident.Event
	g := &borrowKeepGate{out: &got}
	if _, err := NewFileSource(path, nil).Fetch(context.Background(), Query{Gate: g}, func(e incident.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want []incident.Event
	for _, e := range all {
		if strings.Contains(e.Line, "keep=true") || e.Labels["pod"] == "b" {
			want = append(want, e)
		}
	}
	if g.borrowed == 0 {
		t.Fatal("no entry was taken borrowed: pod b's refused lines should be")
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		if got[i].Origin == "taken" {
			w.Origin = "taken"
		}
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("entry %d: got %+v, want %+v", i, got[i], w)
		}
	}
}

// foreignKeepGate is borrowKeepGate taking every other escaped line Skip
// refuses before it is decoded; it decodes them itself to keep them.
type foreignKeepGate struct {
	borrowKeepGate
	asked, taken int
	broken       []string // raws outside TakeForeign's terms
}

func (g *foreignKeepGate) TakeForeign(labels map[string]string, t time.Time, raw string) bool {
	g.asked++
	if !strings.Contains(raw, `\`) || strings.Contains(raw, `\n`) || strings.Contains(raw, `\\`) ||
		strings.Contains(raw, `\u`) || strings.ContainsFunc(raw, func(r rune) bool { return r >= utf8.RuneSelf }) {
		g.broken = append(g.broken, raw)
	}
	if g.asked%2 == 0 {
		return false
	}
	var line string
	if err := json.Unmarshal([]byte(`"`+raw+`"`), &line); err != nil {
		g.broken = append(g.broken, raw)
	}
	g.taken++
	*g.out = append(*g.out, incident.Event{Time: t, Labels: labels, Line: line, Origin: "taken"})
	return true
}

// TestForeignGate checks that the escaped lines Skip refuses are offered
// to TakeForeign undecoded, on its terms, in delivery order, and reach
// Take when it declines them.
func TestForeignGate(t *testing.T) {
	path, all, _ := messyFile(t)
	var got []incident.Event
	g := &foreignKeepGate{borrowKeepGate: borrowKeepGate{out: &got}}
	if _, err := NewFileSource(path, nil).Fetch(context.Background(), Query{Gate: g}, func(e incident.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if g.taken == 0 || g.borrowed == 0 {
		t.Fatalf("%d entries taken undecoded, %d borrowed: pod b's escaped lines should be both", g.taken, g.borrowed)
	}
	if len(g.broken) > 0 {
		t.Fatalf("TakeForeign got %d lines outside its terms, first %q", len(g.broken), g.broken[0])
	}
	var want []incident.Event
	for _, e := range all {
		if strings.Contains(e.Line, "keep=true") || e.Labels["pod"] == "b" {
			if e.Labels["pod"] == "b" && !strings.Contains(e.Line, "keep=true") {
				e.Origin = "taken"
			}
			want = append(want, e)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// messyFile writes messyJSONL's 3000 entries of 4 pods to a file and
// returns its path, and the entries and stats of a sequential read of it.
func messyFile(t *testing.T) (string, []incident.Event, Stats) {
	data := messyJSONL(t, 3000, 4)
	path := filepath.Join(t.TempDir(), "messy.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	all, st := sequentialJSONL(t, path, data, Query{})
	return path, all, st
}

func checkGate(t *testing.T, g interface {
	Gate
	skippedTimes() []time.Time
}) {
	path, all, allSt := messyFile(t)
	got, st, err := collect(t, NewFileSource(path, nil), Query{Gate: g})
	if err != nil {
		t.Fatal(err)
	}
	var want []incident.Event
	var skipped []time.Time
	for _, e := range all {
		if strings.Contains(e.Line, "keep=true") || e.Labels["pod"] == "b" {
			want = append(want, e)
		} else {
			skipped = append(skipped, e.Time)
		}
	}
	if len(want) == 0 || len(skipped) == 0 {
		t.Fatal("the gate should both keep and skip entries")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gate delivered %d entries, want %d", len(got), len(want))
	}
	if !reflect.DeepEqual(g.skippedTimes(), skipped) {
		t.Fatalf("Skip saw %d entries, want %d", len(g.skippedTimes()), len(skipped))
	}
	if st.Entries != allSt.Entries || st.Malformed != allSt.Malformed {
		t.Fatalf("stats with gate %+v, without %+v", st, allSt)
	}
}

// TestParallelJSONLStops checks that fn's error ends the read at once and
// leaves no goroutine blocked.
func TestParallelJSONLStops(t *testing.T) {
	data := messyJSONL(t, 20000, 5)
	path := filepath.Join(t.TempDir(), "messy.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("enough")
	n := 0
	_, err := NewFileSource(path, nil).Fetch(context.Background(), Query{}, func(incident.Event) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Fatalf("err = %v after %d entries, want %v after 10", err, n, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = NewFileSource(path, nil).Fetch(ctx, Query{}, func(incident.Event) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled || n > 10+256 {
		t.Fatalf("err = %v after %d entries, want context.Canceled soon after 10", err, n)
	}
}

// TestParallelJSONLReadError: when the input fails part way (a disk error,
// a cut network stream), the parallel reader delivers every whole line read
// before the failure, in order, and returns the error, whatever size the
// reads come in.
func TestParallelJSONLReadError(t *testing.T) {
	data := messyJSONL(t, 8000, 9)
	boom := errors.New("disk on fire")
	for _, cut := range []int{0, 1, len(data) / 3, len(data) - 1} {
		for _, half := range []bool{false, true} {
			var src io.Reader = io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom))
			if half {
				src = iotest.HalfReader(src)
			}
			var st Stats
			var got []incident.Event
			r := &reader{ctx: context.Background(), st: &st, origin: "f", fn: func(e incident.Event) error {
				got = append(got, e)
				return nil
			}}
			n, err := r.readJSONLParallel(src)
			if !errors.Is(err, boom) || n != int64(cut) {
				t.Fatalf("cut %d: read %d bytes, err %v; want %d bytes and %v", cut, n, err, cut, boom)
			}
			whole := data[:bytes.LastIndexByte(data[:cut], '\n')+1]
			want, _ := sequentialJSONL(t, "f", whole, Query{})
			if len(got) != len(want) {
				t.Fatalf("cut %d: %d entries, want the %d of the whole lines before the failure", cut, len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("cut %d entry %d:\n got %.200v\nwant %.200v", cut, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkParallelJSONL(b *testing.B) {
	data := messyJSONL(b, 20000, 6)
	path := filepath.Join(b.TempDir(), "messy.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := NewFileSource(path, nil).Fetch(context.Background(), Query{}, func(incident.Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParallelJSONL: on any input, the parallel reader delivers what the
// line-by-line reader delivers, with the same counts and problems.
func FuzzParallelJSONL(f *testing.F) {
	// A small seed: minimising an input with megabyte lines stalls the
	// fuzzer for minutes.
	var small [][]byte
	for _, l := range bytes.SplitAfter(messyJSONL(f, 60, 7), []byte("\n")) {
		if len(l) < 1000 {
			small = append(small, l)
		}
	}
	f.Add(bytes.Join(small, nil))
	f.Add([]byte("{\"labels\":{\"a\":\"b\"},\"line\":\"x\",\"timestamp\":\"1\"}\r\n\n\n{"))
	f.Add([]byte("\x00\xff\n{\"line\":\"\\ud800\",\"timestamp\":2,\"labels\":null}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st Stats
		var got []incident.Event
		r := &reader{ctx: context.Background(), st: &st, origin: "f", fn: func(e incident.Event) error {
			got = append(got, e)
			return nil
		}}
		n, err := r.readJSONLParallel(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		st.Bytes = n
		want, wantSt := sequentialJSONL(t, "f", data, Query{})
		if len(got) != len(want) {
			t.Fatalf("%d entries, line by line %d", len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("entry %d:\n got %.200v\nwant %.200v", i, got[i], want[i])
			}
		}
		if !reflect.DeepEqual(st, wantSt) {
			t.Fatalf("stats:\n got %+v\nwant %+v", st, wantSt)
		}
	})
}

// TestOneLabelMapPerStream: the workers of one read hand out one label map
// per stream, whichever worker decoded the entry, so that the consumer's
// per-stream state (found by the map's identity) is one entry per stream.
func TestOneLabelMapPerStream(t *testing.T) {
	data := messyJSONL(t, 3000, 8)
	path := filepath.Join(t.TempDir(), "messy.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := collect(t, NewFileSource(path, nil), Query{})
	if err != nil {
		t.Fatal(err)
	}
	maps := map[string]map[uintptr]bool{}
	for _, e := range got {
		if len(e.Labels) == 0 {
			continue // {} and null: two objects, one empty label set
		}
		k := incident.LabelsKey(e.Labels)
		if maps[k] == nil {
			maps[k] = map[uintptr]bool{}
		}
		maps[k][reflect.ValueOf(e.Labels).Pointer()] = true
	}
	if len(maps) < 3 {
		t.Fatalf("only %d streams read", len(maps))
	}
	for k, ids := range maps {
		if len(ids) != 1 {
			t.Errorf("stream %s came with %d label maps, want 1", k, len(ids))
		}
	}
}

// prefaceGate wants the lines that open a "stack" and their line before.
type prefaceGate struct{ keepGate }

func (prefaceGate) Candidate(line string) bool { return strings.HasPrefix(line, "stack ") }
func (prefaceGate) NeedsPreface(_ map[string]string, _ time.Time, line string) bool {
	return strings.HasPrefix(line, "stack ")
}
func (prefaceGate) Skip(map[string]string, time.Time) bool {
	return true
}

// TestPrefaceGate checks that an entry the PrefaceGate asks about comes
// with the two lines of its stream just before it, found past other
// streams' entries and decoded, and with none when its stream has no
// entry before it in reach.
func TestPrefaceGate(t *testing.T) {
	var b strings.Builder
	ts := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	line := func(pod, text string) {
		ts = ts.Add(time.Millisecond)
		q, _ := json.Marshal(text)
		fmt.Fprintf(&b, `{"labels":{"service":"payouts","pod":%q},"line":%s,"timestamp":%q}`+"\n", pod, q, ts.Format(time.RFC3339Nano))
	}
	line("b", "stack 0 (nothing of pod b before it)")
	line("a", "\tgithub.com/acme/payouts/main.go:29")
	line("a", `2026/11/25 05:36:14 payout "p-17" failed: over the limit`)
	line("b", "other writer")
	line("c", "other writer")
	line("a", "stack 1")
	for i := range prefaceLookback {
		line("a", fmt.Sprintf("filler %d", i))
	}
	line("b", "stack 2 (pod b's line before it is too far back)")
	path := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := collect(t, NewFileSource(path, nil), Query{Gate: prefaceGate{}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"stack 0 (nothing of pod b before it)": "",
		"stack 1":                              "\tgithub.com/acme/payouts/main.go:29\n" + `2026/11/25 05:36:14 payout "p-17" failed: over the limit`,
		"stack 2 (pod b's line before it is too far back)": "",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for _, e := range got {
		if w, ok := want[e.Line]; !ok || e.Before != w {
			t.Errorf("%q: Before = %q, want %q", e.Line, e.Before, w)
		}
	}
}
