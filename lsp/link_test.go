package lsp

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestDiagnosticLink: an incident that lives in a backend (the team
// correlator) links to it from the diagnostic's code.
func TestDiagnosticLink(t *testing.T) {
	root := loadWorkspace(t)
	inc := incIndex
	inc.Link = "https://faultline.internal:8480/api/v1/incidents/inc-index"
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{inc}}, nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	d := c.diagsFor(filepath.Join(root, "cart/cart.go"))
	if len(d.Diagnostics) != 1 || d.Diagnostics[0].CodeDescription == nil ||
		string(d.Diagnostics[0].CodeDescription.Href) != inc.Link {
		t.Fatalf("diagnostics = %+v, want codeDescription.href %s", d.Diagnostics, inc.Link)
	}
}

// TestHoverListsSuspects: the hover shows every suspect's score and reasons.
func TestHoverListsSuspects(t *testing.T) {
	root := loadWorkspace(t)
	inc := incIndex
	rc := *inc.RootCause
	rc.Suspects = []incident.Suspect{
		{Commit: incident.Commit{SHA: "3f2c1ab0000000000000000000000000000000000", Summary: "cart: apply coupons"}, Score: 0.85,
			Reasons: []string{"changed the line that fails (cart/cart.go:7)", "shipped in deploy v1.4.0 right before the errors started"}},
		{Commit: incident.Commit{SHA: "9e8d7c60000000000000000000000000000000000", Summary: "cart: init"}, Score: 0.2,
			Reasons: []string{"changed a calling line (main.go:3 in main.main)"}},
	}
	inc.RootCause = &rc
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{inc}}, nil)
	c := startClient(t, serverSetup{engine: eng})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)
	h := hoverAt(t, c, cart, 6)
	if h == nil {
		t.Fatal("no hover")
	}
	for _, want := range []string{"suspect `3f2c1ab", "score 0.85", "shipped in deploy v1.4.0", "suspect `9e8d7c6", "score 0.20"} {
		if !strings.Contains(h.Contents.Value, want) {
			t.Errorf("hover lacks %q:\n%s", want, h.Contents.Value)
		}
	}
}
