package reassemble

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

func TestStripRuntimePrefix(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-11-20T10:42:01.123456789Z stderr F panic: boom", "panic: boom"},
		{"2026-11-20T10:42:01.123456789+02:00 stdout P goroutine 1 [running]:", "goroutine 1 [running]:"},
		{"2026-11-20T10:42:01Z stderr F \t/app/main.go:12 +0x1d", "\t/app/main.go:12 +0x1d"},
		{"2026-11-20T10:42:01.5Z stderr F ", ""},
		{"2026-11-20T10:42:01.123Z panic: boom", "panic: boom"}, // docker logs -t
		{"2026-11-20T10:42:01.123Z stderr X panic", "stderr X panic"},
		{"2026-11-20 10:42:01.123 ERROR request failed", "2026-11-20 10:42:01.123 ERROR request failed"},
		{"2026-11-20T10:42:01.123Z", "2026-11-20T10:42:01.123Z"},
		{"2026-11-20T10:42:01.Z stderr F x", "2026-11-20T10:42:01.Z stderr F x"},
		{"2026-11-20T10:42:01+0200 stderr F x", "2026-11-20T10:42:01+0200 stderr F x"},
		{"2026-1a-20T10:42:01Z stderr F x", "2026-1a-20T10:42:01Z stderr F x"},
		{"stderr F panic: boom", "panic: boom"}, // the file source took the time
		{"stdout P x", "x"}, {"stderr: boom", "stderr: boom"}, {"stderr F", "stderr F"},
		{"panic: boom", "panic: boom"}, {"", ""},
	} {
		if got := stripRuntimePrefix(c.in); got != c.want {
			t.Errorf("stripRuntimePrefix(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// criLines prefixes every line of text as kubelet writes a container's
// stderr under /var/log/pods.
func criLines(text string, at time.Time) string {
	var b strings.Builder
	for i, l := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(at.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano))
		b.WriteString(" stderr F ")
		b.WriteString(l)
	}
	return b.String()
}

// TestRuntimePrefixedCrashes checks that crashes whose lines carry the
// container runtime's prefix (a real Go panic, a Python traceback, among
// noise and another stream) give the same traces as the bare lines.
func TestRuntimePrefixedCrashes(t *testing.T) {
	goCrash, err := os.ReadFile("../stack/testdata/go/nil_pointer_method.txt")
	if err != nil {
		t.Fatal(err)
	}
	bare := map[string]string{"cart": strings.TrimRight(string(goCrash), "\n"), "search": pyTrace}
	noise := []string{"GET /healthz 200", `{"level":"info","msg":"tick"}`}
	run := func(streams map[string]string, noise []string) []Occurrence {
		got, emit := collect()
		feed(t, New(emit), streams, noise)
		return *got
	}
	want := run(bare, noise)
	if len(want) != 2 {
		t.Fatalf("bare lines gave %d traces, want 2", len(want))
	}
	prefixed := map[string]string{}
	for svc, text := range bare {
		prefixed[svc] = criLines(text, t0)
	}
	var prefixedNoise []string
	for _, n := range noise {
		prefixedNoise = append(prefixedNoise, criLines(n, t0))
	}
	got := run(prefixed, prefixedNoise)
	if len(got) != len(want) {
		t.Fatalf("prefixed lines gave %d traces, bare %d", len(got), len(want))
	}
	g, w := tracesByType(got), tracesByType(want) // Flush closes streams in any order
	for typ, tr := range w {
		if !reflect.DeepEqual(g[typ], tr) {
			t.Errorf("%s:\n got %+v\nwant %+v", typ, g[typ], tr)
		}
	}
	r := New(func(Occurrence) {})
	for _, l := range []string{criLines("panic: boom", t0), criLines("Traceback (most recent call last):", t0)} {
		if !r.Candidate(l) {
			t.Errorf("Candidate(%q) = false", l)
		}
	}
}

// TestMultiLineEntries checks entries that hold a whole trace (a multiline
// stage, Python's logger.exception, a Java appender): the traces are those
// of the same lines fed one per entry, and Candidate accepts the entries.
func TestMultiLineEntries(t *testing.T) {
	goCrash, err := os.ReadFile("../stack/testdata/go/nil_pointer_method.txt")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{
		"cart":   strings.TrimRight(string(goCrash), "\n"),
		"search": "ERROR:search.views:lookup failed\n" + pyTrace, // logger.exception
		"pay": "2026-11-20 10:42:01.123 ERROR 1 --- [nio-8080-exec-1] c.a.pay.Controller : request failed\r\n" +
			"java.lang.IllegalStateException: order 42 failed\r\n\tat com.acme.pay.PayService.charge(PayService.java:42)\r\n" +
			"\tat com.acme.pay.Controller.post(Controller.java:20)\r\n",
	}
	perLine, emit := collect()
	feed(t, New(emit), texts, []string{"GET /healthz 200"})
	if len(*perLine) != 3 {
		t.Fatalf("one line per entry gave %d traces, want 3", len(*perLine))
	}
	whole, emit := collect()
	r := New(emit)
	ts := t0
	for _, svc := range []string{"cart", "pay", "search"} {
		if !r.Candidate(texts[svc]) {
			t.Errorf("Candidate refused the %s entry", svc)
		}
		r.Add(incident.Event{Time: ts, Labels: map[string]string{"service": svc}, Line: texts[svc]})
		r.Add(incident.Event{Time: ts, Labels: map[string]string{"service": "noise"}, Line: "GET /healthz 200"})
		ts = ts.Add(time.Millisecond)
	}
	r.Flush()
	if len(*whole) != 3 {
		t.Fatalf("whole-trace entries gave %d traces, want 3", len(*whole))
	}
	want, got := tracesByType(*perLine), tracesByType(*whole)
	for typ, tr := range want {
		if !reflect.DeepEqual(got[typ], tr) {
			t.Errorf("%s:\n got %+v\nwant %+v", typ, got[typ], tr)
		}
	}
	if r.Candidate("GET /healthz 200\nGET /ready 200") {
		t.Error("Candidate accepted an entry of two lines that start nothing")
	}
}

func tracesByType(os []Occurrence) map[string]incident.Trace {
	m := map[string]incident.Trace{}
	for _, o := range os {
		m[o.Trace.ErrorType] = o.Trace
	}
	return m
}
