package stack

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
)

// startLines are lines each parser's Start accepts, in the forms the
// fixtures do not all hold.
var startLines = []string{
	"panic: runtime error: index out of range [5] with length 3",
	"fatal error: concurrent map writes",
	"goroutine 7 [running]:",
	`2026/11/20 10:42:01 http: panic serving 10.0.0.7:51234: "quoted" value`,
	"[GIN] 2026/11/20 - 10:42:01 [Recovery] 2026/11/20 - 10:42:01 panic recovered:",
	`Exception in thread "main" java.lang.IllegalStateException: bad "state"`,
	"java.lang.IllegalStateException",
	`com.acme.OrderException: order "42" \ failed`,
	"Traceback (most recent call last):",
	"  + Exception Group Traceback (most recent call last):",
	`TypeError: Cannot read properties of undefined (reading "email")`,
	"Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers",
	"Uncaught ReferenceError: x is not defined",
	"/usr/src/app/index.js:10",
	`C:\app\src\index.js:10`,
	"file:///app/x.mjs:3",
	"node:internal/process/task_queues:95",
	"[eval]:1",
	"[UnhandledPromiseRejection: This error originated]",
	"(node:123) UnhandledPromiseRejectionWarning: Error: x",
	`(node:29712) [FQ001] DeprecationWarning: "TARIFFS_V1" is deprecated`,
	"(node:7) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.",
	`Trace: slow "tick"`,
	`DeprecationWarning: "v1" API`,
	"Trace",
	"NotFoundException: no \"user\"",
}

// noiseLines hold escapes and start no trace: the lines MayStartEscaped
// exists to refuse.
var noiseLines = []string{
	`10.0.3.7 - - [20/Nov/2026:10:42:01 +0000] "GET /api/cart/7 HTTP/1.1" 200 512 "-" "Mozilla/5.0"`,
	`time=2026-11-20T10:42:01Z level=WARN msg="slow query" table=orders`,
	`INFO:     10.0.0.7:0 - "GET /search?q=1 HTTP/1.1" 200 OK`,
	`level=info ts=2026-11-20T10:42:01Z caller=worker.go:12 msg="processed batch" size=3`,
	`ERROR: upstream "cart" returned 503`,
}

// checkEscapedStart checks the EscapedStarter contract on one line: when
// Start accepts it, MayStartEscaped accepts it in every escaped form.
func checkEscapedStart(t *testing.T, line string) {
	line = strings.TrimRight(line, "\r\n") // as the reassembler hands lines to Start
	if strings.Contains(line, "\n") {
		return // the reassembler hands Start one line at a time
	}
	for _, slash := range []bool{false, true} {
		raw, ok := stacktest.EscapeJSON(line, slash)
		if !ok {
			continue
		}
		for _, p := range Parsers {
			es, ok := p.(EscapedStarter)
			if ok && p.Start(line) && !es.MayStartEscaped(raw) {
				t.Fatalf("%s: Start(%q) but not MayStartEscaped(%q)", p.Language(), line, raw)
			}
		}
	}
}

// fixtureLines are the lines of every trace under testdata, real runtime
// output and the shared corpus.
func fixtureLines(t testing.TB) []string {
	var lines []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"fuzz"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines = append(lines, strings.Split(string(b), "\n")...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestMayStartEscaped(t *testing.T) {
	for _, p := range Parsers {
		if _, ok := p.(EscapedStarter); !ok {
			t.Errorf("%s does not implement EscapedStarter: every escaped line of a JSON log is decoded for it", p.Language())
		}
	}
	lines := append(fixtureLines(t), startLines...)
	started := 0
	for _, l := range lines {
		checkEscapedStart(t, l)
		for _, p := range Parsers {
			if p.Start(l) {
				started++
				break
			}
		}
	}
	if started < len(startLines) {
		t.Fatalf("only %d lines start a trace", started)
	}
	for _, l := range startLines {
		if !anyStart(l) {
			t.Errorf("no parser starts %q", l)
		}
	}
	for _, l := range noiseLines {
		raw, _ := stacktest.EscapeJSON(l, false)
		for _, p := range Parsers {
			if p.(EscapedStarter).MayStartEscaped(raw) {
				t.Errorf("%s: MayStartEscaped(%q) = true for a line that starts nothing", p.Language(), raw)
			}
		}
	}
}

func anyStart(l string) bool {
	for _, p := range Parsers {
		if p.Start(l) {
			return true
		}
	}
	return false
}

func FuzzMayStartEscaped(f *testing.F) {
	for _, l := range startLines {
		f.Add(l)
	}
	for _, l := range noiseLines {
		f.Add(l)
	}
	f.Fuzz(checkEscapedStart)
}

// hasGoMarkerReference is the plain statement of hasGoMarker.
func hasGoMarkerReference(line string) bool {
	return strings.Contains(line, httpPanicMarker) || strings.Contains(line, ginMarker)
}

var markerCases = []string{
	"", "v", "vv", "[Recovery] ", "x[Recovery] y", "[Recovery]", "http: panic serving ", "http: panic serving",
	"2026/11/20 10:42:01 http: panic serving 10.0.0.7:51234: boom", "[GIN] [Recovery] 2026 panic recovered:",
	"level=info service=cart served v1.4.0", "[Recovervy] http: panic servving http: panic serving x",
}

func TestHasGoMarker(t *testing.T) {
	for _, c := range markerCases {
		if got, want := hasGoMarker(c), hasGoMarkerReference(c); got != want {
			t.Errorf("hasGoMarker(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestHasGoMarkerEverywhere puts each marker, and near misses sharing its
// letter pair, at every offset of lines up to three search windows long,
// so that the pair search finds them in every lane and in the last
// (overlapping) window.
func TestHasGoMarkerEverywhere(t *testing.T) {
	for _, m := range []string{httpPanicMarker, ginMarker, "p" + strings.Repeat("x", 8) + "v", "[" + strings.Repeat("x", 8) + "]", "[Recovery]"} {
		for n := 0; n < 100; n++ {
			for _, tail := range []int{0, 1, 9, 31, 33} {
				line := strings.Repeat("a", n) + m + strings.Repeat("b", tail)
				if got, want := hasGoMarker(line), hasGoMarkerReference(line); got != want {
					t.Fatalf("hasGoMarker(%q) = %v, want %v", line, got, want)
				}
				decoy := strings.Repeat("p        v[        ]", n%3) + line // pairs that are not markers first
				if got, want := hasGoMarker(decoy), hasGoMarkerReference(decoy); got != want {
					t.Fatalf("hasGoMarker(%q) = %v, want %v", decoy, got, want)
				}
			}
		}
	}
}

// indexPairReference is indexPair one position at a time.
func indexPairReference(s string, c0, c1 byte, d int) int {
	for i := 0; i+d < len(s); i++ {
		if s[i] == c0 && s[i+d] == c1 {
			return i
		}
	}
	return -1
}

func checkIndexPair(t *testing.T, s string, d int) {
	t.Helper()
	want := indexPairReference(s, 'p', 'v', d)
	if got := indexPair(s, 'p', 'v', d); got != want {
		t.Fatalf("indexPair(%q, p, v, %d) = %d, want %d", s, d, got, want)
	}
	if got := indexPairGeneric(s, 'p', 'v', d); got != want {
		t.Fatalf("indexPairGeneric(%q, p, v, %d) = %d, want %d", s, d, got, want)
	}
	// Either of two pairs: the first of ('p', 'v') and ('[', ']').
	want2 := indexPairReference(s, '[', ']', d)
	if want2 < 0 || want >= 0 && want < want2 {
		want2 = want
	}
	if got := indexPairs(s, 'p', 'v', '[', ']', d); got != want2 {
		t.Fatalf("indexPairs(%q, p, v, [, ], %d) = %d, want %d", s, d, got, want2)
	}
	if got := indexPairsGeneric(s, 'p', 'v', '[', ']', d); got != want2 {
		t.Fatalf("indexPairsGeneric(%q, p, v, [, ], %d) = %d, want %d", s, d, got, want2)
	}
}

func TestIndexPair(t *testing.T) {
	for _, d := range []int{0, 1, 9, 31, 40} {
		for n := 0; n < 110; n++ {
			base := []byte(strings.Repeat("x", n))
			checkIndexPair(t, string(base), d)
			for i := 0; i < n; i++ {
				b := append([]byte(nil), base...)
				b[i] = 'p'
				checkIndexPair(t, string(b), d)
				if j := (i * 5) % n; j+d < n && j != i && j+d != i { // the other pair, before or after
					c := append([]byte(nil), b...)
					c[j], c[j+d] = '[', ']'
					checkIndexPair(t, string(c), d)
				}
				if i+d < n {
					b[i+d] = 'v'
					checkIndexPair(t, string(b), d)
					if j := (i * 7) % n; j+d < n { // a second pair, before or after
						b[j], b[j+d] = 'p', 'v'
						checkIndexPair(t, string(b), d)
					}
				}
			}
		}
	}
}

func FuzzIndexPair(f *testing.F) {
	f.Add("a p        v b", 9)
	f.Fuzz(func(t *testing.T, s string, d int) {
		if d < 0 || d > 100 {
			return
		}
		checkIndexPair(t, s, d)
	})
}

func FuzzHasGoMarker(f *testing.F) {
	for _, c := range markerCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if got, want := hasGoMarker(line), hasGoMarkerReference(line); got != want {
			t.Fatalf("hasGoMarker(%q) = %v, want %v", line, got, want)
		}
	})
}
