package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGorillaRecovery reads what gorilla/handlers' RecoveryHandler with
// PrintRecoveryStack(true) logged for a handler that panicked, then a
// debug.Stack() the same program logged on purpose outside any panic.
// testdata/go/gorilla_recovery.txt is the real stderr of
// testdata/go/gorilla_recovery_main.go.src built with gorilla/handlers
// v1.5.2 and Go 1.26 (kept as a file because tests reach no module proxy).
// The standard logger prefixes the goroutine header: the dump must be read
// behind the panic value logged on the line before it, with the handler as
// the top application frame; the deliberate dump must stay a diagnostic.
func TestGorillaRecovery(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "go", "gorilla_recovery.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	blocks := goSplitBlocks(Go{}, lines)
	if len(blocks) != 2 {
		t.Fatalf("want 2 blocks, got %d: %q", len(blocks), blocks)
	}
	if !strings.HasSuffix(blocks[0][0], " assignment to entry in nil map") {
		t.Errorf("first block opens on %q, want the logged panic value", blocks[0][0])
	}
	tr := Go{}.Parse(blocks[0])
	if tr.ErrorType != "assignment to entry in nil map" || tr.Message != "assignment to entry in nil map" {
		t.Errorf("got %q / %q", tr.ErrorType, tr.Message)
	}
	top := othersTopApp(t, tr)
	if top.Function != "main.(*cart).add" || top.Line != 15 || !strings.HasSuffix(top.Path, "/main.go") {
		t.Errorf("top application frame %+v, want main.(*cart).add at main.go:15", top)
	}
	if tr.Frames[0] != top || len(tr.Chain) != 1 || DiagnosticStack(tr) {
		t.Errorf("frames %+v, chain %+v: want the crash site first, the recover handler in the chain", tr.Frames, tr.Chain)
	}
	if diag := (Go{}).Parse(blocks[1]); !DiagnosticStack(diag) {
		t.Errorf("debug.Stack() logged outside a panic is not a diagnostic: %+v", diag)
	}
}

// TestLoggedGoroutineHeader tells a goroutine header behind the standard
// logger's prefix from other timestamped lines.
func TestLoggedGoroutineHeader(t *testing.T) {
	for in, want := range map[string]bool{
		"2026/11/25 15:31:19 goroutine 1 [running]:":                   true,
		"2026/11/25 15:31:19.123456 goroutine 18 [running]:":           true,
		"2026/11/25 15:31:19 recover.go:31: goroutine 7 [running]:":    true,
		"goroutine 1 [running]:":                                       false, // the runtime's own: no preface needed
		"2026/11/25 15:31:19 goroutine 1 started":                      false,
		"2026-11-25T15:31:19Z goroutine 1 [running]:":                  false,
		"10.0.3.7 - - [25/Nov/2026:15:31:19 +0000] \"GET / HTTP/1.1\"": false,
	} {
		if got := loggedGoroutineHeader(in); got != want {
			t.Errorf("loggedGoroutineHeader(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestTakesPreface: a runtime goroutine header may take, as its message,
// the panic value a recover handler logged on the line before it with
// log.Printf("panic: %v\n%s", r, debug.Stack()); any other line before it
// is no message of its (a slow-start note before a deliberate dump, the
// runtime's own unprefixed "panic: " line, which opened the block itself).
func TestTakesPreface(t *testing.T) {
	if !(Go{}).MayTakePreface("goroutine 7 [running]:") || (Go{}).MayTakePreface("main.main()") {
		t.Error("MayTakePreface must accept a goroutine header only")
	}
	for prev, want := range map[string]bool{
		"2026/11/25 15:28:24 panic: assignment to entry in nil map":                true,
		"2026/11/25 15:28:24.123456 recover.go:31: panic: runtime error: boom":     true,
		"panic: assignment to entry in nil map":                                    false,
		"2026/11/25 06:10:00 main.go:24: warming gate table, stack follows":        false,
		`time=2026-11-25T15:28:24Z level=ERROR msg="panic: boom"`:                  false,
		"2026/11/25 15:28:24 recovered from panic: assignment to entry in nil map": false,
	} {
		if got := (Go{}).TakesPreface(prev); got != want {
			t.Errorf("TakesPreface(%q) = %v, want %v", prev, got, want)
		}
	}
}
