package reassemble

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestOneLineTraces feeds the output of real runs of services that keep
// each log event on one line, writing a trace's line breaks as the two
// characters '\' and 'n': logback's %replace(%ex){'[\r\n]+','\\n'} (the
// Java header follows the message on the same piece) and a Python
// formatter escaping exc_text (the traceback header is a piece of its
// own). Each failure is one trace, as its printed form would be; the info
// lines between them are none; so when a multiline stage joined them
// into one entry.
func TestOneLineTraces(t *testing.T) {
	tests := []struct {
		file, lang, errType, topPath string
		topLine, frames              int
	}{
		{"oneline_logback_replace.txt", "java", "java.lang.NullPointerException", "Payouts.java", 7, 2},
		{"oneline_python_escaped.txt", "python", "KeyError", "/srv/rates/svc.py", 19, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			got, emit := collect()
			r := New(emit)
			starts := r.Starts()
			for i, l := range lines {
				trace := strings.Contains(l, `\n`)
				if starts.Candidate(l) != trace {
					t.Errorf("line %d: Candidate = %v, want %v", i, !trace, trace)
				}
				r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: l})
			}
			r.Flush()
			// A multiline stage joins the event with its neighbours into
			// one entry: the same traces.
			joined := strings.Join(lines, "\n")
			if !starts.Candidate(joined) {
				t.Error("Candidate of the joined entry is false")
			}
			r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "y"}, Line: joined})
			r.Flush()
			if len(*got) != 4 {
				t.Fatalf("got %d traces, want 2 from the lines and 2 from the joined entry", len(*got))
			}
			for _, o := range *got {
				tr := o.Trace
				top := topApp(tr)
				if tr.Language != tt.lang || tr.ErrorType != tt.errType || top.Path != tt.topPath || top.Line != tt.topLine || len(tr.Frames) != tt.frames {
					t.Errorf("got %s %s at %s:%d, %d frames", tr.Language, tr.ErrorType, top.Path, top.Line, len(tr.Frames))
				}
				if len(tr.Problems) > 0 {
					t.Errorf("problems %q", tr.Problems)
				}
			}
		})
	}
}

// TestOneLineTraceRefuses: a one-line event whose escaped breaks do not
// hold a trace is left as it is.
func TestOneLineTraceRefuses(t *testing.T) {
	for _, line := range []string{
		`2026-11-20 10:42:01 INFO app: wrote "a\nb" to the file`,
		`2026-11-20 10:42:01 ERROR app: failed java.lang.IllegalStateException: x\nsee the runbook`,
		`2026-11-20 10:42:01 WARN app: path C:\new\tat.txt`,
		`{"msg":"failed java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)"}`,
		`\n`,
	} {
		if tr, ok := oneLineTrace(New(nil).Parsers, line); ok {
			t.Errorf("oneLineTrace(%q) = %q", line, tr)
		}
	}
}

// TestOneLineTraceBounded: a megabyte line of words and escaped breaks (log
// text is untrusted) is searched only near its start, and a header past
// the bounds is not looked for.
func TestOneLineTraceBounded(t *testing.T) {
	parsers := New(nil).Parsers
	junk := strings.Repeat(strings.Repeat("word ", 2000)+`\n`, 100)
	if _, ok := oneLineTrace(parsers, junk+"java.lang.IllegalStateException: x\\n\tat a.B.c(B.java:1)"); ok {
		t.Error("a header after 100 long pieces was looked for")
	}
	line := "ERROR c.a.Pay - failed java.lang.IllegalStateException: x\\n\tat a.B.c(B.java:1)\\n"
	if tr, ok := oneLineTrace(parsers, line); !ok || tr != "java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)" {
		t.Errorf("oneLineTrace(%q) = %q, %v", line, tr, ok)
	}
}
