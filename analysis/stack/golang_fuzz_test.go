package stack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGoParse drives arbitrary text through Start/Continue and Parse, and
// Detect/Parse on the whole input: bad input must never panic, and every
// frame Parse returns must come from the input.
func FuzzGoParse(f *testing.F) {
	f.Add("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\nexit status 2")
	f.Add("panic: a [recovered]\n\tpanic: b\n\ngoroutine 7 [running]:\nmain.f.func1()\n\t/a.go:3\npanic({0x1, 0x2})\n\t/usr/local/go/src/runtime/panic.go:1 +0x1\nmain.f()\n\t/a.go:9")
	f.Add("fatal error: stack overflow\n\nruntime stack:\nruntime.throw({0x1})\n\t/r/panic.go:1 +0x1 fp=0x1 sp=0x2 pc=0x3\n\ngoroutine 1 gp=0x1 m=0 mp=0x2 [running]:\nmain.f(...)\n")
	f.Add("main.handler\n\t/app/main.go:42\ncreated by main.main in goroutine 1\n\t:\n...additional frames elided...\n\t/x.go:99999999999999")
	f.Add("panic: (main.T) 0x1\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\n(\n)\n\t\t\nrax    0x0")
	f.Add("2026/11/20 10:42:01 http: panic serving [::1]:5: runtime error: x\ngoroutine 9 [running]:\nnet/http.(*conn).serve.func1()\n\t/go/src/net/http/server.go:1 +0x1\npanic({0x1, 0x2})\n\t/go/src/runtime/panic.go:2\nmain.h(...)\n\t/app/h.go:3")
	f.Add("\x1b[31m2026/11/24 23:30:09 [Recovery] 2026/11/24 - 23:30:09 panic recovered:\nGET / HTTP/1.1\r\nruntime error: x\n/a/b.go:12 (0x65f6b3)\n\t(*Cart).Item: return c.items[i]\n/c.s:1 (0xzz)\n\t\n\x1b[0m")
	f.Fuzz(func(t *testing.T, in string) {
		lines := strings.Split(in, "\n")
		var blocks [][]string
		for _, b := range goSplitBlocks(Go{}, lines) {
			blocks = append(blocks, b)
		}
		blocks = append(blocks, lines)
		for _, b := range blocks {
			_ = Go{}.Detect(b)
			tr := Go{}.Parse(b)
			if tr.Language != "go" {
				t.Fatalf("Language = %q", tr.Language)
			}
			if utf8.ValidString(in) && !utf8.ValidString(tr.ErrorType) {
				t.Fatalf("ErrorType %q is not valid UTF-8", tr.ErrorType)
			}
			for _, fr := range tr.Frames {
				if fr.Function == "" || !strings.Contains(in, fr.Function) || !strings.Contains(in, fr.Path) {
					t.Fatalf("frame %+v not taken from the input", fr)
				}
			}
		}
	})
}
