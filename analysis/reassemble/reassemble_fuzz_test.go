package reassemble

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
	"github.com/faultline-dev/faultline/incident"
)

// FuzzReassemble feeds arbitrary lines, over two interleaved streams, as
// structured and plain entries: the reassembler never panics, never keeps
// more than its bounds, and every trace it emits has frames.
func FuzzReassemble(f *testing.F) {
	for _, seed := range []string{
		goPanic, pyTrace,
		`{"level":"error","caller":"a.go:1","msg":"x","stacktrace":"main.f\n\t/a.go:1"}`,
		`{"log":"panic: x\n"}`,
		"{\"stack\":[\"a\",\"b\"]}\n{\"exc_info\":\"Traceback (most recent call last):\\n  File \\\"a.py\\\", line 1, in f\\nKeyError: 1\"}",
		"Exception in thread \"main\" java.lang.NullPointerException\n\tat a.B.c(B.java:1)\n\t... 3 more",
		"TypeError: x\n    at f (/a.js:1:2)\n\nNode.js v20",
		"2026/11/25 05:36:14 failed: x\ngithub.com/a/b.F\n\tgithub.com/a/b/f.go:3\nwrap\nmain.main\n\tgithub.com/a/main.go:9",
		// The same, every line on stream a (b's are empty).
		"2026/11/25 05:36:14 failed: x\n\ngithub.com/a/b.F\n\n\tgithub.com/a/b/f.go:3\n\nwrap\n\nmain.main\n\n\tgithub.com/a/main.go:9",
		`time=2026-11-25T07:18:47Z level=ERROR msg="x" stack="goroutine 1 [running]:\nmain.f()\n\t/a.go:3 +0x1"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := New(func(o Occurrence) {
			if len(o.Trace.Frames) == 0 {
				t.Fatalf("emitted a trace without frames: %+v", o.Trace)
			}
		})
		r.MaxLines = 200
		ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, line := range strings.Split(text, "\n") {
			labels := map[string]string{"service": []string{"a", "b"}[i%2]}
			r.Add(incident.Event{Time: ts.Add(time.Duration(i) * time.Millisecond), Labels: labels, Line: line})
			if n := openSlots(r); n > 2 || n != r.openBlocks {
				t.Fatalf("%d open streams for 2 label sets (counted %d)", n, r.openBlocks)
			}
		}
		r.Flush()
		if openSlots(r) != 0 || r.openBlocks != 0 {
			t.Fatal("Flush left blocks open")
		}
		// Borrowed lines (overwritten after each call) and pipelined
		// parsing must read the same traces as owned lines read in turn.
		plain := fuzzTraces(text, readPlain)
		if other := fuzzTraces(text, readBorrowed); !slices.Equal(plain, other) {
			t.Fatalf("borrowed and pipelined read\n%q\nplain read\n%q", other, plain)
		}
		// A gated source skips what Candidate refuses on idle streams,
		// and counts foreign lines undecoded when Foreign says so.
		if other := fuzzTraces(text, readGated); !slices.Equal(plain, other) {
			t.Fatalf("gated read\n%q\nplain read\n%q", other, plain)
		}
	})
}

// How fuzzTraces feeds the lines.
const (
	readPlain    = iota // every line to Add
	readBorrowed        // lent from a buffer overwritten after the call, pipelined
	readGated           // borrowed, and gated as a source with analysis's gate does
)

// fuzzTraces reads text as FuzzReassemble does and returns what it
// emitted, sorted (Flush closes the last blocks in map order), and the
// counts.
func fuzzTraces(text string, mode int) []string {
	borrowed := mode != readPlain
	var got []string
	r := New(func(o Occurrence) {
		got = append(got, fmt.Sprintf("%v %v %+v %q", o.Time, o.Labels, o.Trace, o.TraceIDs))
	})
	r.MaxLines = 200
	if borrowed {
		r.Pipeline()
	}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf []byte
	var last [2][2]string // per stream, the two lines before: what a source gives as Event.Before
	for i, line := range strings.Split(text, "\n") {
		e := incident.Event{Time: ts.Add(time.Duration(i) * time.Millisecond), Labels: map[string]string{"service": []string{"a", "b"}[i%2]}, Line: line}
		prev := &last[i%2]
		if borrowed && prev[1] != "" {
			e.Before = prev[1]
			if prev[0] != "" {
				e.Before = prev[0] + "\n" + prev[1]
			}
		}
		prev[0], prev[1] = prev[1], line
		if mode == readGated && !r.Candidate(line) {
			if r.Idle(e.Labels) {
				r.Skipped()
				continue
			}
			// Escaped as logcli delivers it: a source asks about the
			// lines it would otherwise decode.
			raw, ok := stacktest.EscapeJSON(line, i%3 == 0)
			if ok && isASCII(raw) && strings.Contains(raw, `\`) && !strings.Contains(raw, `\n`) &&
				!strings.Contains(raw, `\\`) && r.Foreign(e.Labels, e.Time, raw) {
				r.AddForeign(e.Labels, e.Time)
				continue
			}
			if line != "" {
				buf = append(buf[:0], line...)
				e.Line = unsafe.String(&buf[0], len(buf))
			}
			r.AddRefused(e)
			continue
		}
		if !borrowed || line == "" {
			r.Add(e)
			continue
		}
		buf = append(buf[:0], line...)
		e.Line = unsafe.String(&buf[0], len(buf))
		r.AddBorrowed(e)
		for j := range buf {
			buf[j] = '#'
		}
	}
	r.Flush()
	slices.Sort(got)
	st := r.Stats()
	st.OpenStreams = 0 // the gate keeps idle streams out of the slots
	return append(got, fmt.Sprintf("%+v", st))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// openSlots counts the streams with an open block.
func openSlots(r *Reassembler) int {
	n := 0
	for _, st := range r.slots {
		if st.open != nil {
			n++
		}
	}
	return n
}
