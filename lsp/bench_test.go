package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// Benchmarks of what users feel (see gopls' integration benchmarks): each
// latency is reported as p50/p99 next to a bare JSON-RPC round trip over
// the same kind of pipe.

const linesPerFile = 60

// benchWorkspace writes files Go-like files and spreads n incidents over them.
func benchWorkspace(b *testing.B, files, n int) (string, Result) {
	b.Helper()
	var src strings.Builder
	src.WriteString("package p\n\n")
	for i := 2; i < linesPerFile; i++ {
		if i%10 == 2 {
			fmt.Fprintf(&src, "func F%d(xs []int) int {\n", i)
		} else {
			fmt.Fprintf(&src, "\tx%d := xs[%d] + len(\"héllo\")\n", i, i)
		}
	}
	m := map[string]string{}
	for f := 0; f < files; f++ {
		m[fmt.Sprintf("pkg%03d/file%04d.go", f%100, f)] = src.String()
	}
	root := writeWorkspace(b, m)
	res := Result{Sources: []SourceStatus{{Name: "file bench.jsonl", OK: true}}}
	for i := 0; i < n; i++ {
		f := i % files
		file := fmt.Sprintf("pkg%03d/file%04d.go", f%100, f)
		line := 3 + (i/files)%(linesPerFile-4)
		res.Incidents = append(res.Incidents, incident.Incident{
			ID: fmt.Sprintf("%016x", i*2654435761), Service: "checkout", Env: "prod", Versions: []string{"v1.4.0"},
			ErrorType: "runtime error: index out of range",
			Message:   fmt.Sprintf("panic: runtime error: index out of range [%d] with length %d", i%7, i%5),
			Count:     1 + i%40, FirstSeen: testNow.Add(-time.Duration(i%300) * time.Minute), LastSeen: testNow.Add(-time.Duration(i%50) * time.Minute),
			Location: &incident.Location{File: file, Line: line, Column: 2, Function: fmt.Sprintf("p.F%d", line)},
			Frames: []incident.MappedFrame{
				{Function: "p.F", File: file, Line: line, InApp: true, Mapped: true, OriginalPath: "/app/" + file, OriginalLine: line},
				{Function: "p.G", File: file, Line: line + 1, InApp: true, Mapped: true, OriginalPath: "/app/" + file, OriginalLine: line + 1},
				{Function: "net/http.HandlerFunc.ServeHTTP", File: "/usr/local/go/src/net/http/server.go", Line: 2166, OriginalPath: "/usr/local/go/src/net/http/server.go", OriginalLine: 2166},
			},
			Deploy: &incident.Deploy{Time: testNow.Add(-3 * time.Hour), Service: "checkout", Env: "prod", Version: "v1.4.0"},
		})
	}
	return root, res
}

// loaded starts a server over net.Pipe with the incidents published.
func loaded(b *testing.B, files, n int) (*client, string) {
	root, res := benchWorkspace(b, files, n)
	eng := &fakeEngine{}
	eng.set(res, nil)
	c := startClient(b, serverSetup{engine: eng})
	c.lean = true
	c.keep = "file0007.go"
	c.initialize(root)
	c.wait(methodStatus, func(r json.RawMessage) bool { return strings.Contains(string(r), fmt.Sprintf(`"incidents":%d`, n)) })
	return c, root
}

func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkEchoRoundTrip(b *testing.B) {
	a, z := net.Pipe()
	srv := jsonrpc2.NewConn(newStream(a, func(string, ...any) {}))
	srv.Go(context.Background(), func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		return reply(ctx, req.Params(), nil)
	})
	cli := jsonrpc2.NewConn(jsonrpc2.NewStream(z))
	cli.Go(context.Background(), jsonrpc2.MethodNotFoundHandler)
	defer cli.Close()
	defer srv.Close()
	params := map[string]any{"textDocument": map[string]string{"uri": "file:///w/pkg007/file0007.go"}, "position": map[string]int{"line": 10, "character": 3}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var out json.RawMessage
		if _, err := cli.Call(context.Background(), "echo", params, &out); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat)
}

func BenchmarkHover10k(b *testing.B) {
	c, root := loaded(b, 2000, 10000)
	uri := pathToURI(filepath.Join(root, "pkg007/file0007.go"))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var h *protocol.Hover
		if err := c.call(protocol.MethodTextDocumentHover, map[string]any{"textDocument": map[string]string{"uri": uri},
			"position": map[string]int{"line": 2 + i%5, "character": 3}}, &h); err != nil {
			b.Fatal(err)
		}
		if h == nil {
			b.Fatal("no hover on an incident line")
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat)
}

func BenchmarkCodeAction10k(b *testing.B) {
	c, root := loaded(b, 2000, 10000)
	uri := pathToURI(filepath.Join(root, "pkg007/file0007.go"))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		line := 2 + i%5
		t0 := time.Now()
		var acts []protocol.CodeAction
		if err := c.call(protocol.MethodTextDocumentCodeAction, map[string]any{"textDocument": map[string]string{"uri": uri},
			"range":   map[string]any{"start": map[string]int{"line": line}, "end": map[string]int{"line": line}},
			"context": map[string]any{"diagnostics": []any{}}}, &acts); err != nil {
			b.Fatal(err)
		}
		if len(acts) == 0 {
			b.Fatal("no code action on an incident line")
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat)
}

// BenchmarkDidOpenToDiagnostics10k opens a buffer whose text differs from
// the disk (other indentation), so the server must republish, and times
// didOpen to the matching publishDiagnostics.
func BenchmarkDidOpenToDiagnostics10k(b *testing.B) {
	c, root := loaded(b, 2000, 10000)
	path := filepath.Join(root, "pkg007/file0007.go")
	uri := pathToURI(path)
	var src strings.Builder
	src.WriteString("package p\n\n")
	for i := 2; i < linesPerFile; i++ {
		fmt.Fprintf(&src, "    x%d := xs[%d]\n", i, i)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		c.notify(protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
			"uri": uri, "languageId": "go", "version": i + 1, "text": src.String()}})
		c.wait(protocol.MethodTextDocumentPublishDiagnostics, func(r json.RawMessage) bool {
			return strings.Contains(string(r), fmt.Sprintf(`"version":%d,`, i+1))
		})
		lat = append(lat, time.Since(t0))
		c.notify(protocol.MethodTextDocumentDidClose, map[string]any{"textDocument": map[string]any{"uri": uri}})
		c.wait(protocol.MethodTextDocumentPublishDiagnostics, func(r json.RawMessage) bool {
			return strings.Contains(string(r), uri) && !strings.Contains(string(r), `"version"`)
		})
	}
	report(b, lat)
}

// BenchmarkResidentHeap reports the live heap of a server holding n
// incidents (after GC), minus the heap before it started.
func BenchmarkResidentHeap(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("incidents=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c, _ := loaded(b, 2000, n)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
				c.shutdown()
			}
		})
	}
}
