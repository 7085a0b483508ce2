package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGinRecovery reads what Gin's Recovery middleware logged for a
// handler that panicked. testdata/go/gin_recovery.txt is the real stderr of
// testdata/go/gin_recovery_main.go.src built with gin v1.10.0 and Go 1.26
// (release mode; kept as a file because tests reach no module proxy). The
// block must be read whole, the panic value be the message and the crash
// site be the top application frame, with the runtime and Gin marked as
// library code.
func TestGinRecovery(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "go", "gin_recovery.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := append([]string{"[GIN] 2026/11/24 - 23:30:08 | 200 | 12µs | 127.0.0.1 | GET \"/healthz\""},
		strings.Split(strings.TrimRight(string(b), "\n"), "\n")...)
	lines = append(lines, "[GIN] 2026/11/24 - 23:30:10 | 200 | 9µs | 127.0.0.1 | GET \"/healthz\"")
	blocks := goSplitBlocks(Go{}, lines)
	if len(blocks) != 1 || !strings.Contains(blocks[0][0], "[Recovery]") || !strings.Contains(blocks[0][len(blocks[0])-1], "goexit") {
		t.Fatalf("want one block from the [Recovery] line to the last frame, got %d: %q", len(blocks), blocks)
	}
	tr := Go{}.Parse(blocks[0])
	if tr.ErrorType != "runtime error: index out of range" || tr.Message != "runtime error: index out of range [7] with length 3" {
		t.Errorf("got %q / %q", tr.ErrorType, tr.Message)
	}
	top := othersTopApp(t, tr)
	if top.Function != "(*Cart).Item" || top.Path != "/tmp/ginx/main.go" || top.Line != 12 {
		t.Errorf("top application frame %+v, want (*Cart).Item at main.go:12", top)
	}
	for _, f := range tr.Frames {
		lib := strings.HasPrefix(f.Path, "/usr/local/go/") || strings.Contains(f.Path, "/pkg/mod/")
		if f.Library != lib {
			t.Errorf("frame %s %s:%d Library = %v", f.Function, f.Path, f.Line, f.Library)
		}
	}
	if len(tr.Frames) != 12 || len(tr.Problems) > 0 {
		t.Errorf("%d frames, problems %q", len(tr.Frames), tr.Problems)
	}
}

func TestGinFileLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		path string
		line int
		ok   bool
	}{
		{"/srv/app/cart.go:12 (0x65f6b3)", "/srv/app/cart.go", 12, true},
		{"/usr/local/go/src/runtime/asm_amd64.s:2129 (0x48c827)", "/usr/local/go/src/runtime/asm_amd64.s", 2129, true},
		{"/srv/app/cart.go:12 (0xzz)", "", 0, false},
		{"GET /cart:12 (0x1)", "", 0, false},
		{"cart.go:x (0x1)", "", 0, false},
		{"(0x1)", "", 0, false},
	} {
		path, line, ok := ginFileLine(c.in)
		if path != c.path || line != c.line || ok != c.ok {
			t.Errorf("ginFileLine(%q) = %q, %d, %v", c.in, path, line, ok)
		}
	}
}
