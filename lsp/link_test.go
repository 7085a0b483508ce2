package lsp

import (
	"path/filepath"
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
