package lsp

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// TestManyFolders: a window with many workspace folders gets every
// folder's diagnostics, and the server still answers promptly afterwards.
func TestManyFolders(t *testing.T) {
	const n = 25
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	var roots []string
	for i := 0; i < n; i++ {
		roots = append(roots, loadWorkspace(t))
	}
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(roots...)
	// Folders publish in any order: collect every notification.
	seen := map[string]int{}
	deadline := time.Now().Add(waitLimit)
	for len(seen) < n {
		if time.Now().After(deadline) {
			t.Fatalf("diagnostics for %d of %d folders", len(seen), n)
		}
		c.mu.Lock()
		for _, note := range c.notes {
			if note.method != protocol.MethodTextDocumentPublishDiagnostics {
				continue
			}
			var p protocol.PublishDiagnosticsParams
			if json.Unmarshal(note.params, &p) == nil && len(p.Diagnostics) == 1 {
				seen[string(p.URI)]++
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	for i, r := range roots {
		if seen[pathToURI(filepath.Join(r, "cart/cart.go"))] == 0 {
			t.Errorf("folder %d got no diagnostic", i)
		}
	}
	if h := hoverAt(t, c, filepath.Join(roots[n-1], "cart/cart.go"), 6); h == nil {
		t.Fatalf("no hover in folder %d", n-1)
	}
}
