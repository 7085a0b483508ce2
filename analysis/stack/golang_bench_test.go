package stack

import (
	"bytes"
	"strings"
	"testing"

	panicparse "github.com/maruel/panicparse/v2/stack"

	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
)

// BenchmarkGoParse measures what the pipeline does with a crash dump: cut
// the text into lines, run Start/Continue on every line, then Parse.
func BenchmarkGoParse(b *testing.B) {
	dump := stacktest.GoDump(2000)
	b.Run("pipeline", func(b *testing.B) {
		b.SetBytes(int64(len(dump)))
		b.ReportAllocs()
		for b.Loop() {
			lines := strings.Split(string(dump), "\n")
			blocks := goSplitBlocks(Go{}, lines)
			if len(blocks) != 1 {
				b.Fatalf("%d blocks", len(blocks))
			}
			if tr := (Go{}).Parse(blocks[0]); tr.Goroutine != 4242 {
				b.Fatalf("goroutine %d", tr.Goroutine)
			}
		}
	})
	b.Run("parse-only", func(b *testing.B) {
		lines := strings.Split(string(dump), "\n")
		b.SetBytes(int64(len(dump)))
		b.ReportAllocs()
		for b.Loop() {
			if tr := (Go{}).Parse(lines); tr.Goroutine != 4242 {
				b.Fatalf("goroutine %d", tr.Goroutine)
			}
		}
	})
}

// BenchmarkPanicparse runs panicparse on the same bytes with its cheapest
// options (no argument naming, no path guessing, no source analysis), as
// the yardstick for BenchmarkGoParse.
func BenchmarkPanicparse(b *testing.B) {
	dump := stacktest.GoDump(2000)
	b.SetBytes(int64(len(dump)))
	b.ReportAllocs()
	for b.Loop() {
		s, _, err := panicparse.ScanSnapshot(bytes.NewReader(dump), &bytes.Buffer{}, &panicparse.Opts{})
		if err != nil && s == nil {
			b.Fatal(err)
		}
		if len(s.Goroutines) != 2001 {
			b.Fatalf("%d goroutines", len(s.Goroutines))
		}
	}
}
