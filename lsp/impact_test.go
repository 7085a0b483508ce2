package lsp

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// TestSeverityByImpact: with severity.by: impact in .faultline.yaml the
// diagnostic's severity follows the impact hook, not the deploy rule.
func TestSeverityByImpact(t *testing.T) {
	for _, c := range []struct {
		config string
		want   protocol.DiagnosticSeverity
	}{
		{"", protocol.DiagnosticSeverityError}, // incIndex is new since its deploy
		{"severity:\n  by: impact\n", protocol.DiagnosticSeverityInformation},
	} {
		root := loadWorkspace(t)
		if c.config != "" {
			if err := os.WriteFile(filepath.Join(root, ".faultline.yaml"), []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		eng := &fakeEngine{}
		eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
		c2 := startClient(t, serverSetup{engine: eng, impact: func(inc incident.Incident, now time.Time) string {
			return "information"
		}})
		c2.initialize(root)
		d := c2.diagsFor(filepath.Join(root, "cart/cart.go"))
		if len(d.Diagnostics) != 1 || d.Diagnostics[0].Severity != c.want {
			t.Errorf("config %q: severity %v, want %v", c.config, d.Diagnostics, c.want)
		}
	}
}
