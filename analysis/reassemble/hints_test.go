package reassemble

import (
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
)

// mayHoldTraceReference is the plain statement of mayHoldTrace: one
// substring search per hint.
func mayHoldTraceReference(line string) bool {
	for _, h := range []string{`"stack`, `"exc_info"`, `"exception`, `"traceback"`, `"error.stack`,
		`"err.stack`, `"log"`, `"error"`, `"err"`, `"errorVerbose`, `\n\t`, `\n  `} {
		if strings.Contains(line, h) {
			return true
		}
	}
	return strings.Contains(line, `"caller"`) &&
		(strings.Contains(line, "rror") || strings.Contains(line, "atal") || strings.Contains(line, "anic"))
}

var hintCases = []string{
	`{"time":"2026-11-20T10:42:01Z","level":"INFO","msg":"request served","status":200,"trace_id":"ab"}`,
	`{"level":"error","msg":"boom","stacktrace":"goroutine 1 [running]:\nmain.main()"}`,
	`{"level":"error","caller":"cart/handler.go:42","msg":"failed"}`,
	`{"level":"info","caller":"cart/handler.go:42","msg":"ok"}`,
	`{"log":"panic: boom\n","stream":"stderr"}`,
	`{"err":"x"}`, `{"error.stack":"x"}`, `{"exc_info":"Traceback"}`, `{"exception":{"stacktrace":"x"}}`,
	`{"errors":1,"logger":"x","stackless":true}`,
	`{"msg":"the \"stack\" word in a value"}`,
	`{"level":"ERROR","msg":"http: panic serving 1.2.3.4:5: boom\ngoroutine 5 [running]:\nmain.f()\n\tx.go:3"}`,
	`{"msg":"two\nlines"}`, `{"msg":"a\n  File"}`, `{"errorVerbose":"x"}`,
	`"`, `""`, `{"`, `{"s`, `{"caller"`, `x"traceback"`,
}

func TestMayHoldTrace(t *testing.T) {
	for _, c := range hintCases {
		if got, want := mayHoldTrace(c), mayHoldTraceReference(c); got != want {
			t.Errorf("mayHoldTrace(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestMayHoldTraceEverywhere puts each hint, and quotes before keys no
// hint starts like, at every offset of lines up to three search windows
// long, so that the search meets them in every lane and in the last
// (overlapping) window.
func TestMayHoldTraceEverywhere(t *testing.T) {
	for _, h := range []string{`"stack":1`, `"err":1`, `"caller":"x" error`, `"log":"`, `"s`, `"x"`, `"`} {
		for n := 0; n < 100; n++ {
			for _, tail := range []int{0, 1, 31, 33} {
				line := strings.Repeat(`a"q`, n/3) + strings.Repeat("a", n%3) + h + strings.Repeat("b", tail)
				if got, want := mayHoldTrace(line), mayHoldTraceReference(line); got != want {
					t.Fatalf("mayHoldTrace(%q) = %v, want %v", line, got, want)
				}
			}
		}
	}
}

// indexKeyQuoteReference is indexKeyQuote one position at a time.
func indexKeyQuoteReference(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '"' && strings.IndexByte("setlc", s[i+1]) >= 0 {
			return i
		}
	}
	return -1
}

func TestIndexKeyQuote(t *testing.T) {
	for n := 0; n < 100; n++ {
		base := []byte(strings.Repeat("x", n))
		for i := 0; i < n; i++ {
			for _, c := range []byte("setlcxS\"") {
				b := append([]byte(nil), base...)
				b[i] = '"'
				if i+1 < n {
					b[i+1] = c
				}
				for _, s := range []string{string(b), string(b[:i+1])} {
					if got, want := indexKeyQuote(s), indexKeyQuoteReference(s); got != want {
						t.Fatalf("indexKeyQuote(%q) = %d, want %d", s, got, want)
					}
					if got, want := indexKeyQuoteGeneric(s), indexKeyQuoteReference(s); got != want {
						t.Fatalf("indexKeyQuoteGeneric(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}

func FuzzIndexKeyQuote(f *testing.F) {
	f.Add(`{"time":"x","level":"INFO","stack":"y"}`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := indexKeyQuote(s), indexKeyQuoteReference(s); got != want {
			t.Fatalf("indexKeyQuote(%q) = %d, want %d", s, got, want)
		}
	})
}

func FuzzMayHoldTrace(f *testing.F) {
	for _, c := range hintCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if got, want := mayHoldTrace(line), mayHoldTraceReference(line); got != want {
			t.Fatalf("mayHoldTrace(%q) = %v, want %v", line, got, want)
		}
	})
}

// checkCandidateEscaped checks CandidateEscaped's contract on one line:
// when Candidate accepts it, CandidateEscaped accepts it in every escaped
// form a JSON source may hold it in.
func checkCandidateEscaped(t *testing.T, r *Reassembler, line string) {
	if strings.Contains(strings.TrimRight(line, "\r\n"), "\n") {
		return // an entry of several lines is decoded, never asked about escaped
	}
	for _, slash := range []bool{false, true} {
		raw, ok := stacktest.EscapeJSON(line, slash)
		if !ok || strings.Contains(raw, `\\`) {
			continue // a source decodes a line holding a backslash first
		}
		if r.Candidate(line) && !r.CandidateEscaped(raw) {
			t.Fatalf("Candidate(%q) but not CandidateEscaped(%q)", line, raw)
		}
	}
}

// escapedCases add line endings, which Candidate trims, and escaped
// backslashes before them, which it does not.
var escapedCases = []string{
	"java.lang.IllegalStateException\r\n", "TypeError\n", "/usr/src/app/index.js:10\r",
	"C:\\app\\x.js:10\r\n\r\n", "ends in a backslash and n\\n", "x\\\r",
	"goroutine 1 [running]:\r\n", "panic: boom\n",
	"2026-11-20T10:42:01.123Z stderr F panic: boom\r\n", "2026-11-20T10:42:01Z stderr F \tat x.y(Z.java:1)",
	"2026-11-20T10:42:01.5+02:00 {\"stack\":\"x\"}",
}

func TestCandidateEscaped(t *testing.T) {
	r := New(func(Occurrence) {})
	accepted := 0
	for _, c := range append(append([]string(nil), hintCases...), escapedCases...) {
		checkCandidateEscaped(t, r, c)
		if r.Candidate(c) {
			accepted++
		}
	}
	if accepted < 10 {
		t.Fatalf("only %d of the cases are candidates: the test checks little", accepted)
	}
	for _, noise := range []string{
		`{"time":"2026-11-20T10:42:01Z","level":"INFO","msg":"request served","status":200}`,
		`10.0.3.7 - - [20/Nov/2026:10:42:01 +0000] "GET /api/cart/7 HTTP/1.1" 200 512`,
		`level=info caller=worker.go:12 msg="processed batch"`,
	} {
		raw, _ := stacktest.EscapeJSON(noise, false)
		if r.CandidateEscaped(raw) {
			t.Errorf("CandidateEscaped(%q) = true for a line that holds no trace", raw)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`a\r\n`, "a"}, {`a\\n`, `a\\n`}, {`a\\\n`, `a\\`}, {`\n`, ""}, {`n`, "n"}, {``, ""},
	} {
		if got := trimEscapedEOL(c.in); got != c.want {
			t.Errorf("trimEscapedEOL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzCandidateEscaped(f *testing.F) {
	for _, c := range append(append([]string(nil), hintCases...), escapedCases...) {
		f.Add(c)
	}
	r := New(func(Occurrence) {})
	f.Fuzz(func(t *testing.T, line string) { checkCandidateEscaped(t, r, line) })
}

// plainParser hides whether the parser it holds is a stack.EscapedStarter.
type plainParser struct{ stack.Parser }

// TestCandidateEscapedParsersChanged checks that CandidateEscaped answers
// for the Parsers a Reassembler has when asked, also when they were
// replaced after New: a parser that cannot judge an escaped line has every
// escaped line decoded.
func TestCandidateEscapedParsersChanged(t *testing.T) {
	r := New(func(Occurrence) {})
	noise := `level=info msg=\"processed batch\"`
	if r.CandidateEscaped(noise) {
		t.Fatalf("CandidateEscaped(%q) = true with the built-in parsers", noise)
	}
	r.Parsers = append([]stack.Parser(nil), r.Parsers...)
	if r.CandidateEscaped(noise) {
		t.Fatalf("CandidateEscaped(%q) = true with a copy of the built-in parsers", noise)
	}
	r.Parsers = append(r.Parsers, plainParser{stack.Go{}})
	if !r.CandidateEscaped(noise) {
		t.Fatal("CandidateEscaped refused a line that a parser without MayStartEscaped was not asked about")
	}
	if s := r.Starts(); !s.CandidateEscaped(noise) {
		t.Fatal("Starts taken after the change refused the line")
	}
}

// TestMayHoldTraceID checks the cheap test before the trace-id regexps:
// every line either regexp matches passes it, and a traceback does not.
func TestMayHoldTraceID(t *testing.T) {
	for _, l := range []string{
		`trace_id=4bf92f3577b34da6a3ce929d0e0e4736`, `"traceId":"4bf92f3577b34da6"`, `TRACE-ID: 4BF92F3577B34DA6`,
		`TraceID=4bf92f3577b34da6a3ce929d0e0e4736`, `traceid 4bf92f3577b34da6`,
		`traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`,
		`Traceback (most recent call last):`, `  File "/srv/app/trace.py", line 3, in f`, `x00-12`,
	} {
		want := traceIDRe.MatchString(l) || traceparentRe.MatchString(l)
		if got := mayHoldTraceID(l); want && !got {
			t.Errorf("mayHoldTraceID(%q) = false, but a regexp matches", l)
		}
	}
	if mayHoldTraceID(`Traceback (most recent call last):`) {
		t.Error("a traceback's first line runs the regexps")
	}
}

func FuzzMayHoldTraceID(f *testing.F) {
	f.Add(`trace_id=4bf92f3577b34da6a3ce929d0e0e4736`)
	f.Add(`00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`)
	f.Fuzz(func(t *testing.T, l string) {
		if (traceIDRe.MatchString(l) || traceparentRe.MatchString(l)) && !mayHoldTraceID(l) {
			t.Fatalf("mayHoldTraceID(%q) = false, but a regexp matches", l)
		}
	})
}

func TestTrimEOL(t *testing.T) {
	for _, s := range []string{"", "\n", "\r\n", "a", "a\r\n", "a\n\n\r", "a\rb\n", "\ta \n", "x\r"} {
		if got, want := trimEOL(s), strings.TrimRight(s, "\r\n"); got != want {
			t.Errorf("trimEOL(%q) = %q, want %q", s, got, want)
		}
	}
}
