package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/incident"
)

// TestWriteTextMarksUnknownLines: the code frame marks the failing line
// with ">" only when the location's status says it is the statement at
// HEAD; a deleted statement or an uncarried line is marked "?".
func TestWriteTextMarksUnknownLines(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("package a\n\nfunc F() {\n\tpanic(1)\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ status, mark string }{
		{"", ">"}, {"exact", ">"}, {"moved", ">"}, {"unchanged", ">"},
		{"deleted", "?"}, {"unknown", "?"}, {"missing", "?"},
	} {
		inc := incident.Incident{ErrorType: "panic", Message: "panic: 1", Count: 1, FirstSeen: time.Unix(0, 0),
			Location: &incident.Location{File: "a.go", Line: 4, Column: 2, Status: tc.status}}
		var out bytes.Buffer
		if err := writeText(&out, root, analysis.Result{Incidents: []incident.Incident{inc}}); err != nil {
			t.Fatal(err)
		}
		if want := tc.mark + "     4 |     panic(1)"; !strings.Contains(out.String(), want) {
			t.Errorf("status %q: want %q in\n%s", tc.status, want, out.String())
		}
	}
}
