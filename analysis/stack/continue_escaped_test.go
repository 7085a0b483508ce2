package stack

import (
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
)

// escapedForeignLines are lines a stream prints after its trace ended,
// every one holding escapes in JSON: MayContinueEscaped must refuse them
// after each language's complete trace, or the source decodes them all.
var escapedForeignLines = append([]string{
	`{"time":"2026-11-20T10:42:01Z","level":"INFO","msg":"request served","path":"/api/cart"}`,
	`2026-11-20 10:42:01.123  INFO 1 --- [nio-8080-exec-1] c.a.Controller : handled "order"`,
	`GET /healthz "ok"`,
}, noiseLines...)

// checkEscapedContinue checks the EscapedContinuer contract for one block
// and line: when Continue accepts the line, MayContinueEscaped accepts it
// in every escaped form a source hands over.
func checkEscapedContinue(t *testing.T, p Parser, block []string, line string) {
	t.Helper()
	line = strings.TrimRight(line, "\r\n") // as the reassembler hands lines over
	if strings.Contains(line, "\n") || !p.Continue(block, line) {
		return
	}
	for _, slash := range []bool{false, true} {
		raw, ok := stacktest.EscapeJSON(line, slash)
		if !ok || strings.Contains(raw, `\n`) || strings.Contains(raw, `\\`) || !isASCII(raw) {
			continue // never asked: such lines are decoded first
		}
		if !MayContinueEscaped(p, block, raw) {
			t.Fatalf("%s: Continue(%q, %q) but not MayContinueEscaped(%q)", p.Language(), block, line, raw)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestMayContinueEscaped walks every fixture trace as the reassembler
// does, and at every state of each block asks about the trace's own next
// line, start lines, noise, and lines from other traces.
func TestMayContinueEscaped(t *testing.T) {
	for _, p := range Parsers {
		if _, ok := p.(EscapedContinuer); !ok {
			t.Errorf("%s does not implement EscapedContinuer", p.Language())
		}
	}
	lines := fixtureLines(t)
	var probes []string
	probes = append(probes, startLines...)
	probes = append(probes, escapedForeignLines...)
	for i := 0; i < len(lines); i += 37 { // a sample of every kind of trace line
		probes = append(probes, lines[i])
	}
	probes = append(probes, "\t\"quoted\" frame", `  File "/srv/app/x.py", line 3, in f`, "\tat a.B.c(\"B.java\":1)",
		"    at f (/app/x.js:1:2) \"x\"", "}", "  code: 'E\"X'", "rax    0x0 \"", "created by main.\"f\"", "main.f(\"x\")")
	blocks := 0
	for _, p := range Parsers {
		for i, l := range lines {
			l = strings.TrimRight(l, "\r")
			if !p.Start(l) {
				continue
			}
			block := []string{l}
			for j := i + 1; ; j++ {
				blocks++
				for _, probe := range probes {
					checkEscapedContinue(t, p, block, probe)
				}
				if j >= len(lines) {
					break
				}
				next := strings.TrimRight(lines[j], "\r")
				checkEscapedContinue(t, p, block, next)
				if !p.Continue(block, next) {
					break
				}
				block = append(block, next)
			}
		}
	}
	if blocks < 1000 {
		t.Fatalf("only %d block states checked", blocks)
	}
}

// TestMayContinueEscapedRefusesLogLines checks that the escaped lines a
// stream logs after each language's complete trace are refused undecoded.
func TestMayContinueEscapedRefusesLogLines(t *testing.T) {
	complete := map[string][]string{
		"go": {"panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:12 +0x1d"},
		"java": {`Exception in thread "main" java.lang.IllegalStateException: x`,
			"\tat com.acme.App.main(App.java:7)"},
		"python": {"Traceback (most recent call last):", `  File "/srv/app/x.py", line 3, in <module>`,
			"    f()", "KeyError: 'sku'"},
		"node": {"TypeError: x is not a function", "    at f (/usr/src/app/x.js:1:2)",
			"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"},
	}
	for _, p := range Parsers {
		block := complete[p.Language()]
		if block == nil {
			t.Fatalf("no complete trace for %s", p.Language())
		}
		for _, l := range escapedForeignLines {
			raw, _ := stacktest.EscapeJSON(l, false)
			if !strings.Contains(raw, `\`) {
				t.Fatalf("%q holds no escape", l)
			}
			if MayContinueEscaped(p, block, raw) {
				t.Errorf("%s: MayContinueEscaped(%q) after a complete trace", p.Language(), raw)
			}
		}
	}
}

// FuzzMayContinueEscaped checks the contract on any block and line: the
// block's first line must start a trace, its other lines continue it.
func FuzzMayContinueEscaped(f *testing.F) {
	f.Add("panic: boom\n\ngoroutine 1 [running]:\nmain.main()", "rax    0x0 \"x\"")
	f.Add("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'x'", "During handling of the above exception, another exception occurred: \"x\"")
	f.Add("java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)", "\tat a.B.d(B.java:2) \"x\"")
	f.Add("TypeError: x\n    at f (/app/x.js:1:2)\n    at g (/app/x.js:2:2) {\n  code: 'X'", "  errno: \"x\"")
	f.Fuzz(func(t *testing.T, text, line string) {
		lines := strings.Split(text, "\n")
		for _, p := range Parsers {
			if !p.Start(lines[0]) {
				continue
			}
			block := lines[:1]
			for _, l := range lines[1:] {
				if !p.Continue(block, l) {
					break
				}
				block = append(block, l)
			}
			checkEscapedContinue(t, p, block, line)
		}
	})
}
