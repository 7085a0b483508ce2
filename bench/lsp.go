package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
)

const lspLinesPerFile = 60

// lspWorkspace writes files Go source files under dir and spreads n
// incidents over them, several per file, each with a stack of in-app and
// library frames, a deploy and counts, as a busy service produces.
func lspWorkspace(dir string, files, n int) (string, lsp.Result, error) {
	root := filepath.Join(dir, fmt.Sprintf("lsp-%d", n))
	var src strings.Builder
	src.WriteString("package p\n\n")
	for i := 2; i < lspLinesPerFile; i++ {
		if i%10 == 2 {
			fmt.Fprintf(&src, "func F%d(xs []int) int {\n", i)
		} else {
			fmt.Fprintf(&src, "\tx%d := xs[%d] + len(\"héllo\")\n", i, i)
		}
	}
	for f := 0; f < files; f++ {
		p := filepath.Join(root, lspFile(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", lsp.Result{}, fmt.Errorf("write LSP workspace: %w", err)
		}
		if err := os.WriteFile(p, []byte(src.String()), 0o644); err != nil {
			return "", lsp.Result{}, fmt.Errorf("write LSP workspace: %w", err)
		}
	}
	now := time.Now()
	res := lsp.Result{Sources: []lsp.SourceStatus{{Name: "file:bench.jsonl", OK: true}}}
	res.Incidents = make([]incident.Incident, 0, n)
	for i := 0; i < n; i++ {
		file := lspFile(i % files)
		line := 3 + (i/files)%(lspLinesPerFile-4)
		res.Incidents = append(res.Incidents, incident.Incident{
			ID: fmt.Sprintf("%016x", uint64(i)*2654435761), Service: "checkout", Env: "prod", Versions: []string{"v1.4.0"},
			ErrorType: "runtime error: index out of range",
			Message:   fmt.Sprintf("panic: runtime error: index out of range [%d] with length %d", i%7, i%5),
			Count:     1 + i%40, FirstSeen: now.Add(-time.Duration(i%300) * time.Minute), LastSeen: now.Add(-time.Duration(i%50) * time.Minute),
			Location: &incident.Location{File: file, Line: line, Column: 2, Function: fmt.Sprintf("p.F%d", line)},
			Frames: []incident.MappedFrame{
				{Function: "p.F", File: file, Line: line, InApp: true, Mapped: true, OriginalPath: "/app/" + file, OriginalLine: line},
				{Function: "p.G", File: file, Line: line + 1, InApp: true, Mapped: true, OriginalPath: "/app/" + file, OriginalLine: line + 1},
				{Function: "net/http.HandlerFunc.ServeHTTP", File: "/usr/local/go/src/net/http/server.go", Line: 2166,
					OriginalPath: "/usr/local/go/src/net/http/server.go", OriginalLine: 2166},
			},
			Deploy: &incident.Deploy{Time: now.Add(-3 * time.Hour), Service: "checkout", Env: "prod", Version: "v1.4.0"},
		})
	}
	return root, res, nil
}

func lspFile(f int) string { return fmt.Sprintf("pkg%03d/file%04d.go", f%100, f) }

// benchLSP times hover, codeAction and didOpen→publishDiagnostics with the
// first incident count loaded, each against a bare JSON-RPC echo measured
// interleaved with it (one echo, one request, and so on), so both see the
// same machine noise; then it measures the server's resident heap at each
// incident count.
func benchLSP(ctx context.Context, dir string, sz sizes) ([]row, error) {
	n := sz.lspIncidents[0]
	root, res, err := lspWorkspace(dir, sz.lspFiles, n)
	if err != nil {
		return nil, err
	}
	c := startLSP(ctx, fixedEngine{res})
	if err := c.initialize(ctx, root, n); err != nil {
		return nil, err
	}
	echo, closeEcho := echoPair(ctx)
	defer closeEcho()
	uri := fileURI(filepath.Join(root, lspFile(7)))
	var rows []row
	for _, m := range []struct {
		name string
		once func(context.Context, *lspClient, string, int) (time.Duration, error)
	}{{"hover", hoverOnce}, {"codeAction", codeActionOnce}, {"didOpen → publishDiagnostics", didOpenOnce}} {
		lat, base, err := interleaved(ctx, sz.lspSamples, echo, func(i int) (time.Duration, error) { return m.once(ctx, c, uri, i) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		p50, p99 := percentiles(lat)
		e50, e99 := percentiles(base)
		ratio := float64(p99) / float64(max(e99, 1))
		r := row{
			Name:     fmt.Sprintf("LSP %s, %d incidents over %d files (%d requests)", m.name, n, sz.lspFiles, len(lat)),
			Measured: fmt.Sprintf("p50 %s, p99 %s", us(p50), us(p99)),
			Baseline: fmt.Sprintf("JSON-RPC echo over net.Pipe, interleaved: p50 %s, p99 %s", us(e50), us(e99)),
			Ratio:    fmt.Sprintf("p50 %.1fx, p99 %.1fx", float64(p50)/float64(max(e50, 1)), ratio),
		}
		if m.name != "didOpen → publishDiagnostics" {
			r.Target, r.Met = "p99 <= 5x", met(ratio <= 5)
		}
		rows = append(rows, r)
	}
	if err := c.shutdown(ctx); err != nil {
		return nil, err
	}
	for _, n := range sz.lspIncidents {
		heap, err := residentHeap(ctx, dir, sz.lspFiles, n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{
			Name:     fmt.Sprintf("LSP server resident heap with %d incidents over %d files (after GC, diagnostics published)", n, sz.lspFiles),
			Measured: mb(heap),
			Target:   "< 200 MB",
			Met:      met(heap < 200<<20),
		})
	}
	return rows, nil
}

// interleaved runs samples (plus a tenth to warm up) of op, each preceded
// by one echo round trip, and returns both sets of latencies.
func interleaved(ctx context.Context, samples int, echo jsonrpc2.Conn, op func(int) (time.Duration, error)) (lat, base []time.Duration, err error) {
	params := hoverParams("file:///w/pkg007/file0007.go", 10)
	warm := samples / 10
	for i := 0; i < samples+warm; i++ {
		t0 := time.Now()
		var out json.RawMessage
		if _, err := echo.Call(ctx, "echo", params, &out); err != nil {
			return nil, nil, fmt.Errorf("echo: %w", err)
		}
		e := time.Since(t0)
		d, err := op(i)
		if err != nil {
			return nil, nil, err
		}
		if i >= warm {
			lat, base = append(lat, d), append(base, e)
		}
	}
	return lat, base, nil
}

func hoverParams(uri string, line int) map[string]any {
	return map[string]any{"textDocument": map[string]string{"uri": uri}, "position": map[string]int{"line": line, "character": 3}}
}

// incidentLine is a 0-based line of file 7 that carries incidents.
func incidentLine(i int) int { return 2 + i%5 }

func hoverOnce(ctx context.Context, c *lspClient, uri string, i int) (time.Duration, error) {
	t0 := time.Now()
	var h *protocol.Hover
	if err := c.call(ctx, protocol.MethodTextDocumentHover, hoverParams(uri, incidentLine(i)), &h); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if h == nil || h.Contents.Value == "" {
		return 0, fmt.Errorf("no hover on incident line %d", incidentLine(i))
	}
	return d, nil
}

func codeActionOnce(ctx context.Context, c *lspClient, uri string, i int) (time.Duration, error) {
	line := incidentLine(i)
	t0 := time.Now()
	var acts []protocol.CodeAction
	if err := c.call(ctx, protocol.MethodTextDocumentCodeAction, map[string]any{
		"textDocument": map[string]string{"uri": uri},
		"range":        map[string]any{"start": map[string]int{"line": line}, "end": map[string]int{"line": line}},
		"context":      map[string]any{"diagnostics": []any{}}}, &acts); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if len(acts) == 0 {
		return 0, fmt.Errorf("no code action on incident line %d", line)
	}
	return d, nil
}

// didOpenOnce opens a buffer whose text differs from the disk (other
// indentation, so the diagnostics' ranges change) and times didOpen to the
// publishDiagnostics for that version, then closes it again (not timed).
func didOpenOnce(ctx context.Context, c *lspClient, uri string, i int) (time.Duration, error) {
	var src strings.Builder
	src.WriteString("package p\n\n")
	for l := 2; l < lspLinesPerFile; l++ {
		fmt.Fprintf(&src, "    x%d := xs[%d]\n", l, l)
	}
	uriKey := []byte(`"uri":"` + uri + `"`)
	version := []byte(fmt.Sprintf(`"version":%d`, i+1))
	wait := c.expect(func(m string, p json.RawMessage) bool {
		return m == protocol.MethodTextDocumentPublishDiagnostics && bytes.Contains(p, uriKey) && bytes.Contains(p, version)
	})
	t0 := time.Now()
	if err := c.conn.Notify(ctx, protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "go", "version": i + 1, "text": src.String()}}); err != nil {
		return 0, err
	}
	if err := wait(); err != nil {
		return 0, fmt.Errorf("didOpen version %d: %w", i+1, err)
	}
	d := time.Since(t0)
	closed := c.expect(func(m string, p json.RawMessage) bool {
		return m == protocol.MethodTextDocumentPublishDiagnostics && bytes.Contains(p, uriKey) && !bytes.Contains(p, []byte(`"version"`))
	})
	if err := c.conn.Notify(ctx, protocol.MethodTextDocumentDidClose, map[string]any{"textDocument": map[string]any{"uri": uri}}); err != nil {
		return 0, err
	}
	if err := closed(); err != nil {
		return 0, fmt.Errorf("didClose: %w", err)
	}
	return d, nil
}

// residentHeap is the live heap a server holding n incidents adds to the
// process, once it has published every diagnostic.
func residentHeap(ctx context.Context, dir string, files, n int) (uint64, error) {
	base := liveHeap()
	// The incidents count: a real server holds the last result it received.
	root, res, err := lspWorkspace(dir, files, n)
	if err != nil {
		return 0, err
	}
	c := startLSP(ctx, fixedEngine{res})
	if err := c.initialize(ctx, root, n); err != nil {
		return 0, err
	}
	heap := sub(liveHeap(), base)
	if err := c.shutdown(ctx); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(root); err != nil {
		return 0, fmt.Errorf("remove LSP workspace: %w", err)
	}
	return heap, nil
}
