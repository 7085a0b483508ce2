package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChiRecoverer reads what chi's Recoverer middleware printed for two
// handlers that panicked. testdata/go/chi_recoverer.txt is the real output
// (stdout and stderr together, as a container's log holds them) of
// testdata/go/chi_recoverer_main.go.src built with chi v5.1.0, Go 1.26 and
// -trimpath; chi_recoverer_tty.txt is the same program run on a terminal
// (`script`), where chi colours every part and lines end in "\r\n". (Kept
// as files because tests reach no module proxy.) Each pretty stack must be
// read as one block that stops before chi's request log line, its panic
// value's first line (an errors.Join value prints two) be the message and the
// handler be the top application frame, with net/http and chi marked as
// library code.
func TestChiRecoverer(t *testing.T) {
	for _, file := range []string{"chi_recoverer.txt", "chi_recoverer_tty.txt"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "go", file))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
			for i := range lines {
				lines[i] = strings.TrimSuffix(lines[i], "\r")
			}
			blocks := goSplitBlocks(Go{}, lines)
			if len(blocks) != 2 {
				t.Fatalf("want 2 blocks, got %d: %q", len(blocks), blocks)
			}
			for _, want := range []struct {
				errorType, message, function string
				line                         int
			}{
				{"interface conversion", "interface conversion: interface {} is nil, not string", "main.getUser", 18},
				{"quota: exceeded", "quota: exceeded", "main.joined", 23},
			} {
				blk := blocks[0]
				blocks = blocks[1:]
				for _, l := range blk {
					if strings.Contains(l, `"GET http`) {
						t.Errorf("block swallowed chi's request log line %q", l)
					}
				}
				tr := Go{}.Parse(blk)
				if tr.ErrorType != want.errorType || tr.Message != want.message {
					t.Errorf("got %q / %q, want %q / %q", tr.ErrorType, tr.Message, want.errorType, want.message)
				}
				top := othersTopApp(t, tr)
				if top.Function != want.function || top.Path != "chifix/main.go" || top.Line != want.line || tr.Frames[0] != top {
					t.Errorf("top application frame %+v, want %s at chifix/main.go:%d as the first frame", top, want.function, want.line)
				}
				for _, f := range tr.Frames[1:] {
					if !f.Library {
						t.Errorf("frame %s %s:%d is not library code", f.Function, f.Path, f.Line)
					}
				}
				last := tr.Frames[len(tr.Frames)-1]
				if len(tr.Frames) != 12 || last.Function != "net/http.(*Server).Serve" || last.Line != 3464 || len(tr.Problems) > 0 {
					t.Errorf("%d frames, last %+v, problems %q", len(tr.Frames), last, tr.Problems)
				}
			}
		})
	}
}

// TestChiLine decides the lines of a pretty stack one by one, and that free
// text indented like them is none.
func TestChiLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want chiLine
		ok   bool
	}{
		{" -> main.getUser", chiLine{fn: "main.getUser"}, true},
		{" ->   chifix/main.go:18", chiLine{path: "chifix/main.go", line: 18}, true},
		{"    github.com/go-chi/chi/v5.(*Mux).routeHTTP", chiLine{fn: "github.com/go-chi/chi/v5.(*Mux).routeHTTP"}, true},
		{"      /usr/local/go/src/net/http/server.go:2286", chiLine{path: "/usr/local/go/src/net/http/server.go", line: 2286}, true},
		{"    created by net/http.(*Server).Serve in goroutine 4", chiLine{fn: "created by net/http.(*Server).Serve in goroutine 4"}, true},
		{"    ", chiLine{blank: true}, true},
		{"\x1b[0m      \x1b[37;1mnet/http/\x1b[0m\x1b[36;1mserver.go\x1b[0m\x1b[32;1m:2286\x1b[0m", chiLine{path: "net/http/server.go", line: 2286}, true},
		{"    at Object.<anonymous> (/app/x.js:1:2)", chiLine{}, false},
		{"    see the docs for details", chiLine{}, false},
		{"2026/11/25 15:05:33 \"GET /users/u1 HTTP/1.1\" - 500", chiLine{}, false},
		{" panic: boom", chiLine{}, false},
	} {
		got, ok := readChiLine(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("readChiLine(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
