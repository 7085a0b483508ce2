package lsp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// boundsFixer rewrites "<=" to "<" on the loop line: a rule fixer in miniature.
type boundsFixer struct{}

func (boundsFixer) CodeActions(ctx context.Context, inc incident.Incident, doc Document) ([]Action, error) {
	return []Action{{ID: "bounds", Title: "Fix loop bound", Preferred: true}}, nil
}

func (boundsFixer) Resolve(ctx context.Context, inc incident.Incident, doc Document, id string) ([]Edit, error) {
	i := strings.Index(doc.Text, "<=")
	return []Edit{{Start: i, End: i + 2, NewText: "<"}}, nil
}

func (boundsFixer) OpenPR(ctx context.Context, inc incident.Incident) (string, error) {
	return "https://github.com/acme/shop/pull/7", nil
}

func TestFixerCommandsAndResolve(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	c := startClient(t, serverSetup{engine: eng, fixer: boundsFixer{}})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)
	c.open(cart, 3)

	var acts []map[string]json.RawMessage
	if err := c.call(protocol.MethodTextDocumentCodeAction, map[string]any{"textDocument": map[string]string{"uri": pathToURI(cart)},
		"range": rng(6, 0, 6, 0), "context": map[string]any{"diagnostics": []any{}}}, &acts); err != nil || len(acts) != 2 {
		t.Fatalf("codeAction = %v, %v", acts, err)
	}
	if acts[1]["edit"] != nil {
		t.Errorf("fix edit computed eagerly: %s", acts[1]["edit"])
	}
	var resolved map[string]json.RawMessage
	if err := c.call(methodCodeActionResolve, acts[1], &resolved); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	wantEdit := `{"documentChanges":[{"edits":[{"range":{"start":{"line":5,"character":15},"end":{"line":5,"character":17}},"newText":"\u003c"}],"textDocument":{"uri":"` + pathToURI(cart) + `","version":3}}]}`
	if string(resolved["edit"]) != wantEdit {
		t.Errorf("resolved edit =\n%s\nwant\n%s", resolved["edit"], wantEdit)
	}

	// The document changes: the offered fix is now stale and refused.
	c.change(cart, 4, 0, 0, 0, 0, "// x\n")
	c.diagsFor(cart)
	if err := c.call(methodCodeActionResolve, acts[1], nil); err == nil || !strings.Contains(err.Error(), "changed since the fix was offered") {
		t.Errorf("resolve on a stale version = %v", err)
	}
	if err := c.command(cmdApplyFix, map[string]any{"id": "inc-index", "uri": pathToURI(cart), "version": 3}, nil); err == nil ||
		!strings.Contains(err.Error(), "stale") {
		t.Errorf("applyFix for a stale version = %v", err)
	}
	var applied map[string]any
	if err := c.command(cmdApplyFix, map[string]any{"id": "inc-index", "uri": pathToURI(cart), "version": 4}, &applied); err != nil ||
		applied["applied"] != true || applied["title"] != "Fix loop bound" {
		t.Fatalf("applyFix = %v, %v", applied, err)
	}
	var pr map[string]string
	if err := c.command(cmdOpenPR, map[string]any{"id": "inc-index"}, &pr); err != nil || pr["url"] != "https://github.com/acme/shop/pull/7" {
		t.Errorf("openPR = %v, %v", pr, err)
	}
	c.mu.Lock()
	var sawApply, sawShow bool
	for _, r := range c.requests {
		sawApply = sawApply || (r.method == protocol.MethodWorkspaceApplyEdit && strings.Contains(string(r.params), `"version":4`) &&
			strings.Contains(string(r.params), `"line":6`))
		sawShow = sawShow || (r.method == protocol.MethodShowDocument && strings.Contains(string(r.params), `"external":true`))
	}
	c.mu.Unlock()
	if !sawApply || !sawShow {
		t.Errorf("workspace/applyEdit (versioned) seen: %v; window/showDocument external seen: %v", sawApply, sawShow)
	}
	c.shutdown()
}
