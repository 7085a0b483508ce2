package faultline

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers checks the architecture invariants ARCHITECTURE.md states:
// imports point down the flow, and the domain package stands alone.
func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	const mod = "github.com/faultline-dev/faultline/"
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"incident", []string{""}}, // nothing of ours
		{"telemetry", []string{"analysis", "lsp", "codeactions", "cmd"}},
		{"analysis/...", []string{"lsp", "codeactions", "cmd", "correlator", "store"}},
		{"lsp", []string{"analysis", "codeactions", "telemetry", "cmd"}},
		{"codeactions/...", []string{"lsp", "cmd", "analysis"}},
		{"config", []string{"analysis", "lsp", "codeactions", "telemetry"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		self := strings.TrimSuffix(r.pkg, "/...")
		for _, dep := range strings.Fields(string(out)) {
			rel, ours := strings.CutPrefix(dep, mod)
			if !ours || strings.HasPrefix(rel, self) {
				continue
			}
			for _, f := range r.forbidden {
				if f == "" || rel == f || strings.HasPrefix(rel, f+"/") {
					t.Errorf("%s imports %s", r.pkg, rel)
				}
			}
		}
	}
}
