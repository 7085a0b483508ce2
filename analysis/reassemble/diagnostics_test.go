package reassemble

import (
	"os"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestDiagnosticsAreNotIncidents feeds the real output of programs that
// print, around their one error, things that look like traces but report
// nothing wrong (testdata/diagnostics): a Node process warning under
// --trace-warnings and console.trace() after an error printed with its
// properties or its stack, debug.Stack() logged by a Go program before it
// panics, Thread.dumpStack() before a Java crash, a Python warning and
// quoted "Traceback" headers after a logged exception. Each must yield
// exactly the errors printed, each with its own frames only.
func TestDiagnosticsAreNotIncidents(t *testing.T) {
	type want struct {
		errorType string // substring of ErrorType
		frames    int
		top       string // function of the first frame
	}
	for _, tc := range []struct {
		file string
		want []want
	}{
		// console.error(err) ends with its "{ errno, code, ... }" block;
		// console.trace's and the DeprecationWarning's frames that follow
		// are not the refused connection's.
		{"node_warnings_trace.txt", []want{
			{"Error", 1, "TCPConnectWrap.afterConnect [as oncomplete]"},
			{"TypeError", 10, ""},
		}},
		// console.error(err.stack), a JSON line, then console.trace().
		{"node_console_trace.txt", []want{{"SyntaxError", 9, "JSON.parse"}}},
		// console.error(err.stack), then a warning listener's
		// console.warn(w.stack) (under node --no-warnings, with no "(node:PID)"
		// line before it).
		{"node_warning_listener.txt", []want{{"SyntaxError", 8, "JSON.parse"}}},
		{"go_debug_stack.txt", []want{{"assignment to entry in nil map", 2, "github.com/acme/yardcount/tally.(*Tally).Add"}}},
		// debug.Stack() inside a deferred recover is the panic's stack:
		// the crash site comes first, not debug.Stack.
		{"go_recovered_debug_stack.txt", []want{{"", 2, "main.crash"}}},
		{"java_dumpstack.txt", []want{
			{"java.net.SocketTimeoutException", 8, "sun.nio.ch.NioSocketImpl.timedRead"},
			{"java.lang.ArrayIndexOutOfBoundsException", 2, "com.acme.berths.Berths.assign"},
		}},
		{"java_printstacktrace_dumpstack.txt", []want{{"java.lang.NumberFormatException", 4, "java.lang.NumberFormatException.forInputString"}}},
		{"python_warning_quoted.txt", []want{{"KeyError", 1, "f"}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/diagnostics/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			got, emit := collect()
			r := New(emit)
			ts := t0
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				r.Add(incident.Event{Time: ts, Labels: map[string]string{"service": "svc"}, Line: l})
				ts = ts.Add(2 * 1e6)
			}
			r.Flush()
			if len(*got) != len(tc.want) {
				for _, o := range *got {
					t.Logf("got %q (%d frames)", o.Trace.ErrorType, len(o.Trace.Frames))
				}
				t.Fatalf("got %d traces, want %d", len(*got), len(tc.want))
			}
			for i, w := range tc.want {
				tr := (*got)[i].Trace
				if !strings.Contains(tr.ErrorType, w.errorType) || len(tr.Frames) != w.frames {
					t.Errorf("trace %d = %q with %d frames, want %q with %d", i, tr.ErrorType, len(tr.Frames), w.errorType, w.frames)
					continue
				}
				if w.top != "" && tr.Frames[0].Function != w.top {
					t.Errorf("trace %d top frame = %q, want %q", i, tr.Frames[0].Function, w.top)
				}
			}
		})
	}
}
