package stack

import (
	"os"
	"path/filepath"
	"testing"
)

// Benchmarks of what the reassembler pays: Parse per trace, and Start on the
// ordinary log lines that make up almost all of a 200 MB log.

func othersBenchParse(b *testing.B, p Parser, file string) {
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", "git-stacktrace", file))
	if err != nil {
		b.Fatal(err)
	}
	lines := othersLines(string(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(lines)
	}
}

func BenchmarkJavaParse(b *testing.B)   { othersBenchParse(b, Java{}, "java2.trace") }
func BenchmarkPythonParse(b *testing.B) { othersBenchParse(b, Python{}, "python2.trace") }
func BenchmarkNodeParse(b *testing.B)   { othersBenchParse(b, Node{}, "javascript1.trace") }

// othersOrdinaryLines are typical log lines no parser may start a trace on.
var othersOrdinaryLines = []string{
	"INFO request done",
	`{"level":"info","ts":"2026-11-20T10:42:01.123Z","msg":"GET /cart 200","duration_ms":12}`,
	"2026-11-20 10:42:01,123 INFO  [http-nio-8080-exec-3] c.a.shop.CartController - cart loaded items=3",
	"[2026-11-20T10:42:01Z] worker 7 picked job 91823",
	"127.0.0.1 - - [20/Nov/2026:10:42:01 +0000] \"GET /healthz HTTP/1.1\" 200 2",
	"level=warn msg=\"slow query\" table=orders elapsed=1.2s",
	"Started GET \"/api/cart\" for 10.0.0.1 at 2026-11-20 10:42:01 +0000",
	"    retrying in 5s",
}

func BenchmarkStartNoMatch(b *testing.B) {
	parsers := []Parser{Java{}, Python{}, Node{}}
	for _, l := range othersOrdinaryLines {
		for _, p := range parsers {
			if p.Start(l) {
				b.Fatalf("%s.Start(%q) = true", p.Language(), l)
			}
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, l := range othersOrdinaryLines {
			for _, p := range parsers {
				if p.Start(l) {
					n++
				}
			}
		}
	}
	// ns/op covers len(othersOrdinaryLines) lines through three parsers.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(othersOrdinaryLines)), "ns/line")
}
