package reassemble

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/labelmemo"
)

const goPanic = `panic: runtime error: index out of range [3] with length 3

goroutine 1 [running]:
main.total(...)
	/build/src/cart/cart.go:42
main.main()
	/build/src/cart/main.go:10 +0x1d
exit status 2`

const pyTrace = `Traceback (most recent call last):
  File "/srv/app/shop/cart.py", line 12, in <module>
    total(cart)
  File "/srv/app/shop/cart.py", line 8, in total
    return cart["sku"]
KeyError: 'sku'`

var t0 = time.Date(2026, 11, 20, 10, 42, 0, 0, time.UTC)

// feed turns texts into events: each text is one stream, each line one entry,
// and the streams are interleaved line by line.
func feed(t *testing.T, r *Reassembler, streams map[string]string, noise []string) {
	t.Helper()
	type cursor struct {
		labels map[string]string
		lines  []string
	}
	var names []string
	for svc := range streams {
		names = append(names, svc)
	}
	sort.Strings(names) // deterministic interleaving: billing's lines come first
	var cs []*cursor
	for _, svc := range names {
		cs = append(cs, &cursor{labels: map[string]string{"service": svc}, lines: strings.Split(streams[svc], "\n")})
	}
	ts := t0
	for more := true; more; {
		more = false
		for i, c := range cs {
			if len(c.lines) == 0 {
				continue
			}
			more = true
			r.Add(incident.Event{Time: ts, Labels: c.labels, Line: c.lines[0]})
			c.lines = c.lines[1:]
			ts = ts.Add(time.Millisecond)
			if i < len(noise) {
				r.Add(incident.Event{Time: ts, Labels: map[string]string{"service": "noise"}, Line: noise[i]})
			}
		}
	}
	r.Flush()
}

func collect() (*[]Occurrence, func(Occurrence)) {
	var got []Occurrence
	return &got, func(o Occurrence) { got = append(got, o) }
}

func TestInterleavedStreams(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	feed(t, r, map[string]string{
		"checkout": goPanic,
		"billing":  pyTrace,
	}, []string{`GET /healthz 200 1ms`, `INFO cache warmed entries=120`})
	if len(*got) != 2 {
		t.Fatalf("got %d traces, want 2: %+v", len(*got), *got)
	}
	by := map[string]Occurrence{}
	for _, o := range *got {
		by[o.Labels["service"]] = o
	}
	g := by["checkout"].Trace
	if g.Language != "go" || !strings.Contains(g.ErrorType, "index out of range") {
		t.Errorf("checkout trace = %s %q", g.Language, g.ErrorType)
	}
	if top := topApp(g); top.Path != "/build/src/cart/cart.go" || top.Line != 42 {
		t.Errorf("checkout top frame = %+v", top)
	}
	p := by["billing"].Trace
	if p.Language != "python" || p.ErrorType != "KeyError" {
		t.Errorf("billing trace = %s %q", p.Language, p.ErrorType)
	}
	if top := topApp(p); top.Line != 8 || top.Function != "total" {
		t.Errorf("billing top frame = %+v", top)
	}
	// billing's first line is at t0, checkout's at t0+1ms (see feed): an
	// occurrence carries the time of its own first line.
	if !by["billing"].Time.Equal(t0) {
		t.Errorf("billing occurrence time = %v, want its first line's %v", by["billing"].Time, t0)
	}
	if want := t0.Add(time.Millisecond); !by["checkout"].Time.Equal(want) {
		t.Errorf("checkout occurrence time = %v, want its first line's %v", by["checkout"].Time, want)
	}
}

func TestRepeatedCrashSameStream(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	// The same crash three times back to back, as a restarting service prints it.
	feed(t, r, map[string]string{"checkout": goPanic + "\n" + goPanic + "\nINFO restarted\n" + goPanic}, nil)
	if len(*got) != 3 {
		t.Fatalf("got %d traces, want 3", len(*got))
	}
	for _, o := range *got {
		if n := len(o.Trace.Frames); n != 2 {
			t.Errorf("trace has %d frames, want 2: %+v", n, o.Trace.Frames)
		}
	}
}

func TestQuietStreamClosesBlock(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	lines := strings.Split(pyTrace, "\n")
	for i, l := range lines[:3] {
		r.Add(incident.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Labels: map[string]string{"service": "a"}, Line: l})
	}
	r.CloseIdle(t0.Add(time.Minute))
	if len(*got) != 1 {
		t.Fatalf("CloseIdle emitted %d traces, want 1 (a torn trace keeps the frames it has)", len(*got))
	}
	if len((*got)[0].Trace.Frames) == 0 {
		t.Errorf("torn trace lost its frames")
	}
}

func TestStructuredLines(t *testing.T) {
	tests := []struct {
		name, line, lang, errType, msg, topPath string
		topLine                                 int
		traceID                                 string
	}{
		{
			name: "zap stacktrace without header",
			line: `{"level":"error","ts":1732099321.5,"caller":"cart/cart.go:42","msg":"checkout failed","error":"pq: connection refused","stacktrace":"main.handler\n\t/app/cart/cart.go:42\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220","trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736"}`,
			lang: "go", msg: "pq: connection refused", topPath: "/app/cart/cart.go", topLine: 42,
			traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		},
		{
			name: "python exception field with header",
			line: `{"levelname":"ERROR","message":"request failed","exc_info":"Traceback (most recent call last):\n  File \"/srv/app/shop/cart.py\", line 8, in total\n    return cart[\"sku\"]\nKeyError: 'sku'","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`,
			lang: "python", errType: "KeyError", topPath: "/srv/app/shop/cart.py", topLine: 8,
			traceID: "0af7651916cd43dd8448eb211c80319c",
		},
		{
			name: "zap caller only",
			line: `{"level":"error","caller":"cart/cart.go:77","msg":"order 1234 failed: invalid state"}`,
			lang: "go", errType: "order N failed: invalid state", topPath: "cart/cart.go", topLine: 77,
		},
		{
			// net/http's Server.ErrorLog set to slog.NewLogLogger over a
			// JSON handler: the recovered panic and its stack are "msg".
			name: "slog msg holding net/http's recovered panic",
			line: `{"time":"2026-11-25T05:38:42.11Z","level":"ERROR","msg":"http: panic serving 127.0.0.1:57072: runtime error: index out of range [3] with length 3\ngoroutine 5 [running]:\nnet/http.(*conn).serve.func1()\n\tnet/http/server.go:1897 +0xbd\npanic({0x758d20?, 0x22b2a5b2a0d8?})\n\truntime/panic.go:860 +0x13a\ngithub.com/acme/loyalty/tiers.Name(...)\n\tgithub.com/acme/loyalty/tiers/tiers.go:28\ngithub.com/acme/loyalty/tiers.Handler({0x7a0c10, 0x22b2a5c2e000}, 0x22b2a5c11af8?)\n\tgithub.com/acme/loyalty/tiers/tiers.go:38 +0x174\ncreated by net/http.(*Server).Serve in goroutine 19\n\tnet/http/server.go:3464 +0x485"}`,
			lang: "go", errType: "runtime error: index out of range", topPath: "github.com/acme/loyalty/tiers/tiers.go", topLine: 28,
		},
		{
			// zap.Error(err) of a pkg/errors error adds its %+v as "errorVerbose".
			name: "zap errorVerbose",
			line: `{"level":"error","msg":"payout failed","error":"limits: over the daily limit","errorVerbose":"limits: over the daily limit\ngithub.com/acme/payouts/limits.Check\n\tgithub.com/acme/payouts/limits/limits.go:15\nmain.main\n\tgithub.com/acme/payouts/main.go:29\nruntime.main\n\truntime/proc.go:290"}`,
			lang: "go", msg: "limits: over the daily limit", topPath: "github.com/acme/payouts/limits/limits.go", topLine: 15,
		},
		{
			name: "a message of several lines that is no trace",
			line: `{"level":"error","msg":"validation failed:\n  name: required\n\tage: must be positive"}`,
		},
		{
			name: "docker json-file wrapper",
			line: `{"log":"panic: boom\n","stream":"stderr","time":"2026-11-20T10:42:00Z"}`,
			// a single line opens a block only; see TestDockerWrapper
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, emit := collect()
			r := New(emit)
			r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: tt.line})
			r.Flush()
			if tt.lang == "" {
				if strings.HasPrefix(tt.line, `{"level"`) && len(*got) != 0 {
					t.Fatalf("got %d traces from a line that holds none", len(*got))
				}
				return
			}
			if len(*got) != 1 {
				t.Fatalf("got %d traces, want 1", len(*got))
			}
			o := (*got)[0]
			if o.Trace.Language != tt.lang {
				t.Errorf("language = %q, want %q", o.Trace.Language, tt.lang)
			}
			if tt.errType != "" && o.Trace.ErrorType != tt.errType {
				t.Errorf("error type = %q, want %q", o.Trace.ErrorType, tt.errType)
			}
			if tt.msg != "" && o.Trace.Message != tt.msg {
				t.Errorf("message = %q, want %q", o.Trace.Message, tt.msg)
			}
			top := topApp(o.Trace)
			if top.Path != tt.topPath || top.Line != tt.topLine {
				t.Errorf("top frame = %s:%d, want %s:%d", top.Path, top.Line, tt.topPath, tt.topLine)
			}
			if tt.traceID != "" && (len(o.TraceIDs) == 0 || o.TraceIDs[0] != tt.traceID) {
				t.Errorf("trace ids = %v, want %s", o.TraceIDs, tt.traceID)
			}
		})
	}
}

func TestDockerWrapper(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	for i, l := range strings.Split(goPanic, "\n") {
		line := fmt.Sprintf(`{"log":%q,"stream":"stderr"}`, l+"\n")
		r.Add(incident.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Labels: map[string]string{"service": "x"}, Line: line})
	}
	r.Flush()
	if len(*got) != 1 || topApp((*got)[0].Trace).Line != 42 {
		t.Fatalf("docker-wrapped panic: got %+v", *got)
	}
}

func TestBoundedBlock(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	r.MaxLines = 50
	r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: "panic: boom"})
	r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: ""})
	r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: "goroutine 1 [running]:"})
	for i := 0; i < 1000; i++ {
		r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: fmt.Sprintf("main.f%d()", i)})
		r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: fmt.Sprintf("\t/app/main.go:%d +0x1", i+1)})
	}
	r.Flush()
	if len(*got) != 1 {
		t.Fatalf("got %d traces", len(*got))
	}
	if n := len((*got)[0].Trace.Frames); n == 0 || n > 50 {
		t.Errorf("frames = %d, want between 1 and 50", n)
	}
	if r.Stats().Truncated != 1 {
		t.Errorf("Truncated = %d, want 1", r.Stats().Truncated)
	}
}

func TestNormalizeMessage(t *testing.T) {
	for in, want := range map[string]string{
		`order 1234 failed`:                 `order N failed`,
		`user "bob" not found at 0xc000123`: `user "…" not found at N`,
		`KeyError: 'sku-42'`:                `KeyError: "…"`,
	} {
		if got := NormalizeMessage(in); got != want {
			t.Errorf("NormalizeMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func topApp(tr incident.Trace) incident.Frame {
	for _, f := range tr.Frames {
		if !f.Library {
			return f
		}
	}
	return incident.Frame{}
}

// TestManyLabelSets checks that a trace stays open, and its stream not
// Idle, across more label sets than the reassembler memoizes, each stream
// reached through two maps as two reading goroutines hand them out.
func TestManyLabelSets(t *testing.T) {
	got, emit := collect()
	r := New(emit)
	r.MaxForeign = 1 << 20
	lines := strings.Split(goPanic, "\n")
	a1 := map[string]string{"service": "cart", "pod": "a"}
	a2 := map[string]string{"service": "cart", "pod": "a"} // the same stream, another map
	ts := t0
	r.Add(incident.Event{Time: ts, Labels: a1, Line: lines[0]})
	for i := range 3 * labelmemo.MaxEntries {
		ts = ts.Add(time.Microsecond)
		other := map[string]string{"service": "noise", "pod": fmt.Sprint(i)}
		if !r.Idle(other) {
			t.Fatalf("stream %d is not idle", i)
		}
		r.Skipped()
		if i%1000 == 0 && (r.Idle(a1) || r.Idle(a2)) {
			t.Fatalf("after %d other label sets the open trace's stream is idle", i)
		}
	}
	for i, l := range lines[1:] {
		labels := a1
		if i%2 == 0 {
			labels = a2
		}
		r.Add(incident.Event{Time: ts, Labels: labels, Line: l})
	}
	r.Flush()
	if len(*got) != 1 || len((*got)[0].Trace.Frames) != 2 {
		t.Fatalf("got %d traces, want the panic with 2 frames: %+v", len(*got), *got)
	}
	if !r.Idle(a1) || !r.Idle(a2) {
		t.Fatal("stream still open after Flush")
	}
}

// TestAddBorrowedKeepsCopies feeds the same interleaved streams three
// times: with Add; with AddBorrowed from one buffer that is overwritten
// after every call, as a reader's scratch buffer is; and as a gated source
// does, the lines Candidate refuses through AddRefused from that buffer.
// The traces must be the same: every line a block keeps was copied, and a
// refused line is never one that starts a trace.
func TestAddBorrowedKeepsCopies(t *testing.T) {
	// deep is a trace long enough that a block's text fills up, starts
	// over, and is then left for copies of their own (blockTextBytes).
	var deep strings.Builder
	deep.WriteString("panic: deep\n\ngoroutine 1 [running]:\n")
	for i := range 400 {
		fmt.Fprintf(&deep, "main.step%d(...)\n\t/build/src/cart/steps.go:%d +0x1d\n", i, i+1)
	}
	streams := map[string][]string{"cart": strings.Split(goPanic, "\n"), "shop": strings.Split(pyTrace, "\n"),
		"deep": strings.Split(strings.TrimSuffix(deep.String(), "\n"), "\n")}
	noise := "GET /healthz 200"
	const (
		plain = iota
		borrowAll
		gated
	)
	run := func(borrow int) []Occurrence {
		var got []Occurrence
		r := New(func(o Occurrence) { got = append(got, o) })
		buf := make([]byte, 0, 256)
		ts := t0
		add := func(labels map[string]string, line string) {
			e := incident.Event{Time: ts, Labels: labels, Line: line}
			ts = ts.Add(time.Millisecond)
			if borrow == plain || borrow == gated && r.Starts().Candidate(line) {
				r.Add(e)
				return
			}
			buf = append(buf[:0], line...)
			e.Line = unsafe.String(unsafe.SliceData(buf), len(buf))
			if borrow == gated {
				r.AddRefused(e)
			} else {
				r.AddBorrowed(e)
			}
			for i := range buf {
				buf[i] = 'X'
			}
		}
		cart, shop, deepL := map[string]string{"service": "cart"}, map[string]string{"service": "shop"}, map[string]string{"service": "deep"}
		for i := 0; i < len(streams["deep"]); i++ {
			if i < len(streams["cart"]) {
				add(cart, streams["cart"][i])
			}
			add(cart, noise)
			if i < len(streams["shop"]) {
				add(shop, streams["shop"][i])
			}
			add(deepL, streams["deep"][i])
		}
		r.Flush()
		sort.Slice(got, func(i, j int) bool { return got[i].Labels["service"] < got[j].Labels["service"] })
		return got
	}
	want := run(plain)
	if len(want) != 3 || len(want[1].Trace.Frames) != 400 {
		t.Fatalf("Add read %d traces, want 3, the deep one of 400 frames", len(want))
	}
	if got := run(borrowAll); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("AddBorrowed read\n%v\nAdd read\n%v", got, want)
	}
	if got := run(gated); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Add and AddRefused read\n%v\nAdd read\n%v", got, want)
	}
}

// pkgErrorsLines is what log.Printf("payout run failed: %+v", err) writes
// for a github.com/pkg/errors error wrapped once (a -trimpath build).
var pkgErrorsLines = []string{
	"2026/11/25 05:36:14 payout run failed: limits: payout of 1250.00 EUR over the daily limit",
	"github.com/acme/payouts/limits.Check",
	"\tgithub.com/acme/payouts/limits/limits.go:15",
	"main.main",
	"\tgithub.com/acme/payouts/main.go:29",
	"runtime.goexit",
	"\truntime/asm_amd64.s:1771",
	"payout p-17",
	"github.com/acme/payouts/payout.Process",
	"\tgithub.com/acme/payouts/payout/payout.go:21",
}

// TestPrefacedStacks checks pkg/errors' stacks, which no runtime header
// opens: each becomes one trace, named by the message line before it, as
// the stream's previous line (fed whole) or as the source's Before (fed
// borrowed past a gate), also two errors back to back with another
// stream in between; without the message line known, nothing opens.
func TestPrefacedStacks(t *testing.T) {
	payouts := map[string]string{"service": "payouts"}
	other := map[string]string{"service": "other"}
	check := func(t *testing.T, got []Occurrence, n int) {
		t.Helper()
		if len(got) != n {
			t.Fatalf("got %d traces, want %d: %+v", len(got), n, got)
		}
		for _, o := range got {
			if o.Trace.Message != "payout run failed: limits: payout of 1250.00 EUR over the daily limit" {
				t.Errorf("message = %q", o.Trace.Message)
			}
			if top := o.Trace.Frames[0]; top.Path != "github.com/acme/payouts/limits/limits.go" || top.Line != 15 {
				t.Errorf("top frame %s:%d", top.Path, top.Line)
			}
			if len(o.Trace.Frames) != 3 {
				t.Errorf("%d frames, want the 3 of the error's own stack", len(o.Trace.Frames))
			}
		}
	}
	t.Run("fed whole, twice, interleaved", func(t *testing.T) {
		got, emit := collect()
		r := New(emit)
		ts := t0
		for range 2 {
			for _, l := range pkgErrorsLines {
				ts = ts.Add(time.Millisecond)
				r.Add(incident.Event{Time: ts, Labels: payouts, Line: l})
				r.Add(incident.Event{Time: ts, Labels: other, Line: "level=info msg=tick"})
			}
		}
		r.Flush()
		check(t, *got, 2)
	})
	t.Run("borrowed with Before", func(t *testing.T) {
		got, emit := collect()
		r := New(emit)
		ts := t0
		r.Skipped() // the message line, refused by the gate
		for _, l := range pkgErrorsLines[1:] {
			ts = ts.Add(time.Millisecond)
			e := incident.Event{Time: ts, Labels: payouts, Line: l}
			if r.Candidate(l) {
				if r.Starts().NeedsPreface(l) {
					e.Before = pkgErrorsLines[0]
				}
				r.Add(e)
			} else if !r.Idle(payouts) {
				r.AddRefused(e)
			} else {
				r.Skipped()
			}
		}
		r.Flush()
		check(t, *got, 1)
	})
	t.Run("message line skipped", func(t *testing.T) {
		got, emit := collect()
		r := New(emit)
		r.Add(incident.Event{Time: t0, Labels: payouts, Line: pkgErrorsLines[0]})
		r.Skipped() // an entry came between, unseen
		for _, l := range pkgErrorsLines[1:] {
			r.Add(incident.Event{Time: t0, Labels: payouts, Line: l})
		}
		r.Flush()
		check(t, *got, 0)
	})
}

// TestLogfmtStack reads a stack that slog's TextHandler quoted into a
// logfmt attribute: testdata/slog_text_recovered.txt is the real stderr of
// a -trimpath program whose recover handler logs
// slog.Error("panic recovered", "err", r, "path", ..., "stack", string(debug.Stack())).
func TestLogfmtStack(t *testing.T) {
	b, err := os.ReadFile("testdata/slog_text_recovered.txt")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimRight(string(b), "\n")
	got, emit := collect()
	r := New(emit)
	if !r.Candidate(line) {
		t.Fatal("the gate refuses the line")
	}
	r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "shop"}, Line: line})
	r.Flush()
	if len(*got) != 1 {
		t.Fatalf("got %d traces, want 1", len(*got))
	}
	tr := (*got)[0].Trace
	if tr.Message != "runtime error: index out of range [2] with length 1" {
		t.Errorf("message = %q", tr.Message)
	}
	if top := topApp(tr); top.Function != "main.(*cart).third" || top.Path != "example.com/shop/main.go" || top.Line != 11 {
		t.Errorf("top frame = %s %s:%d, want main.(*cart).third at example.com/shop/main.go:11", top.Function, top.Path, top.Line)
	}
	// A logfmt line whose quoted value has line breaks but no trace is
	// read and dropped; an ordinary one is not even a candidate.
	for _, l := range []string{
		`time=2026-11-25T07:18:47Z level=WARN msg="validation failed" detail="name: required\n  age: must be positive"`,
		`time=2026-11-25T07:18:47Z level=INFO msg="request served" path=/cart/7 status=200`,
	} {
		got, emit := collect()
		r := New(emit)
		r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "shop"}, Line: l})
		r.Flush()
		if len(*got) != 0 {
			t.Errorf("%q: got %d traces", l, len(*got))
		}
	}
	if r.Candidate(`time=2026-11-25T07:18:47Z level=INFO msg="request served" path=/cart/7 status=200`) {
		t.Error("an ordinary logfmt line is a candidate")
	}
}

// TestForeign checks what a source may count without decoding: the
// escaped log lines after a trace, until the block closes; never a line
// that continues the trace, nor one after the block went quiet too long
// to be told from a new one (that closes it, and Foreign says so).
func TestForeign(t *testing.T) {
	var got []Occurrence
	r := New(func(o Occurrence) { got = append(got, o) })
	labels := map[string]string{"service": "cart"}
	t0 := time.Date(2026, 11, 20, 10, 42, 0, 0, time.UTC)
	for i, l := range []string{"panic: boom", "", "goroutine 1 [running]:", "main.main()"} {
		r.Add(incident.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Labels: labels, Line: l})
	}
	at := t0.Add(time.Second)
	if r.Foreign(labels, at, `\t/app/main.go:12 +0x1d`) {
		t.Fatal("the trace's file line taken as foreign")
	}
	r.AddRefused(incident.Event{Time: at, Labels: labels, Line: "\t/app/main.go:12 +0x1d"})
	jsonLine := `{\"level\":\"INFO\",\"msg\":\"served\"}`
	for i := 0; i <= r.MaxForeign; i++ {
		if !r.Foreign(labels, at, jsonLine) {
			t.Fatalf("foreign line %d not counted undecoded", i)
		}
		r.AddForeign(labels, at)
	}
	if len(got) != 1 || len(got[0].Trace.Frames) != 1 || got[0].Trace.Frames[0].Line != 12 {
		t.Fatalf("after MaxForeign+1 foreign lines got %+v, want the trace closed at main.go:12", got)
	}
	if !r.Idle(labels) {
		t.Fatal("the block is still open")
	}
	if st := r.Stats(); st.Events != 4+1+r.MaxForeign+1 {
		t.Errorf("counted %d events", st.Events)
	}

	// A block quiet for longer than Gap: the next line closes it.
	r.Add(incident.Event{Time: at, Labels: labels, Line: "panic: again"})
	late := at.Add(r.Gap + time.Second)
	if !r.Foreign(labels, late, `\tpanic: again [recovered]`) {
		t.Fatal("a line after the gap is not only counted")
	}
	r.AddForeign(labels, late)
	if !r.Idle(labels) || r.Stats().GapSplits != 1 {
		t.Fatalf("the quiet block was not closed by the gap (%+v)", r.Stats())
	}
}

// TestLoggedPanicThenStack reads a recover handler that logs
// log.Printf("panic: %v\n%s", r, debug.Stack()): the panic value behind
// the standard logger's prefix, then the runtime's goroutine header.
// testdata/printf_recovered.txt is the real stderr of such a handler that
// recovered three requests within a millisecond. Each dump is one trace
// named by the logged value (the line before its header, taken as the
// stream's previous line or as the source's Before), not one trace of
// three goroutines with no message.
func TestLoggedPanicThenStack(t *testing.T) {
	b, err := os.ReadFile("testdata/printf_recovered.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	svc := map[string]string{"service": "probe"}
	check := func(t *testing.T, got []Occurrence) {
		t.Helper()
		if len(got) != 3 {
			t.Fatalf("got %d traces, want 3: %+v", len(got), got)
		}
		for _, o := range got {
			if o.Trace.Message != "assignment to entry in nil map" || o.Trace.ErrorType != "assignment to entry in nil map" {
				t.Errorf("message %q, type %q", o.Trace.Message, o.Trace.ErrorType)
			}
			if top := topApp(o.Trace); top.Function != "main.handler" || top.Line != 13 {
				t.Errorf("top frame = %s %s:%d, want main.handler at main.go:13", top.Function, top.Path, top.Line)
			}
		}
	}
	t.Run("fed whole", func(t *testing.T) {
		got, emit := collect()
		r := New(emit)
		ts := t0
		for _, l := range lines {
			ts = ts.Add(100 * time.Microsecond)
			r.Add(incident.Event{Time: ts, Labels: svc, Line: l})
		}
		r.Flush()
		check(t, *got)
	})
	t.Run("borrowed with Before", func(t *testing.T) {
		got, emit := collect()
		r := New(emit)
		ts := t0
		for i, l := range lines {
			ts = ts.Add(100 * time.Microsecond)
			e := incident.Event{Time: ts, Labels: svc, Line: l}
			switch {
			case r.Candidate(l):
				if i > 0 && r.Starts().NeedsPreface(l) {
					e.Before = lines[i-1]
				}
				r.Add(e)
			case !r.Idle(svc):
				r.AddRefused(e)
			default:
				r.Skipped()
			}
		}
		r.Flush()
		check(t, *got)
	})
}

// TestContinues: a line the stream's open block takes is said to continue
// it (its line before is then not needed); an idle stream, a line that
// opens a new block, a JSON line, a block past Gap are not.
func TestContinues(t *testing.T) {
	r := New(func(Occurrence) {})
	r.Gap = 2 * time.Second
	labels := map[string]string{"service": "cart"}
	t0 := time.Date(2026, 11, 20, 10, 42, 0, 0, time.UTC)
	if r.Continues(labels, t0, "goroutine 1 [running]:") {
		t.Error("an idle stream continues")
	}
	for i, l := range []string{"panic: boom", ""} {
		r.Add(incident.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Labels: labels, Line: l})
	}
	at := t0.Add(10 * time.Millisecond)
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"goroutine 1 [running]:", true},
		{"goroutine 1 [running]:\r\n", true},
		{`{"level":"error","stack":"goroutine 1 [running]:"}`, false},
		{"Traceback (most recent call last):", false},
		{"2026/11/20 10:42:01 served /", false},
	} {
		if got := r.Continues(labels, at, tc.line); got != tc.want {
			t.Errorf("Continues(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
	if r.Continues(labels, t0.Add(time.Minute), "goroutine 1 [running]:") {
		t.Error("a block quiet past Gap continues")
	}
}
