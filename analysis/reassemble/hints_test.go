package reassemble

import (
	"strings"
	"testing"
)

// mayHoldTraceReference is the plain statement of mayHoldTrace: one
// substring search per hint.
func mayHoldTraceReference(line string) bool {
	for _, h := range []string{`"stack`, `"exc_info"`, `"exception`, `"traceback"`, `"error.stack`,
		`"err.stack`, `"log"`, `"error"`, `"err"`} {
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
	`"`, `""`, `{"`, `{"s`, `{"caller"`, `x"traceback"`,
}

func TestMayHoldTrace(t *testing.T) {
	for _, c := range hintCases {
		if got, want := mayHoldTrace(c), mayHoldTraceReference(c); got != want {
			t.Errorf("mayHoldTrace(%q) = %v, want %v", c, got, want)
		}
	}
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
