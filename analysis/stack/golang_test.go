package stack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

func init() {
	// Another test file of this package may define -update already.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func goUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goGolden is what a fixture's .json golden file records: how the
// reassembler would cut the text, whether Detect claims it, and the Trace.
type goGolden struct {
	Blocks int
	Detect bool
	Trace  incident.Trace
}

// TestGoFixtures parses every testdata/go/*.txt and compares with the .json
// golden beside it; `go test -run TestGoFixtures -update` rewrites them.
func TestGoFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "go", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			got := goGolden{
				Blocks: len(goSplitBlocks(Go{}, lines)),
				Detect: Go{}.Detect(lines),
				Trace:  Go{}.Parse(lines),
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, '\n')
			golden := strings.TrimSuffix(file, ".txt") + ".json"
			if goUpdating() {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("Parse(%s) differs from %s (run with -update after checking):\n%s", file, golden, out)
			}
		})
	}
}

// TestGoBlockBoundaries checks how Start/Continue cut a log stream: a crash
// ends at the first ordinary line, and lines that only resemble a crash do
// not swallow the log after them.
func TestGoBlockBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []int // sizes of the blocks cut
	}{
		{"panic then log line", []string{
			"level=info msg=start", "panic: boom", "", "goroutine 1 [running]:", "main.main()",
			"\t/app/main.go:5 +0x1d", "", "level=info msg=restarted"}, []int{6}},
		{"exit status closes", []string{
			"panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5 +0x1d",
			"exit status 2", "", "main.main()"}, []int{6}},
		{"two crashes back to back", []string{
			"panic: a", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5",
			"panic: b", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:6"}, []int{5, 5}},
		{"log line mentioning panic is followed by JSON logs", []string{
			"panic: recovered in middleware", `{"level":"info","msg":"next"}`, `{"level":"info"}`}, []int{1}},
		{"message ends at blank line without stacks", []string{
			"panic: recovered in middleware", "", "INFO listening on :8080"}, []int{2}},
		{"multi-line panic value", []string{
			"panic: stock low", "card expired", "", "goroutine 1 [running]:", "main.main()",
			"\t/app/main.go:5 +0x1d"}, []int{6}},
		{"timestamped line after stacks", []string{
			"fatal error: concurrent map writes", "", "goroutine 9 [running]:", "main.w()",
			"\t/app/main.go:5 +0x1d", "2026-11-20T10:42:01Z INFO up"}, []int{5}},
		{"pkg/errors stacks behind their messages", []string{
			"2026/11/25 05:36:14 payout run failed: limits: over the limit", "github.com/acme/p/limits.Check",
			"\tgithub.com/acme/p/limits/limits.go:15", "main.main", "\tgithub.com/acme/p/main.go:29",
			"payout p-17", "github.com/acme/p/payout.Process", "\tgithub.com/acme/p/payout/payout.go:21",
			"2026/11/25 05:36:15 payout run failed: limits: over the limit", "github.com/acme/p/limits.Check",
			"\tgithub.com/acme/p/limits/limits.go:15", "level=info msg=next"}, []int{8, 3}},
		{"frames elided in a deep stack (Go 1.21 on) keep it one block", []string{
			"runtime: goroutine stack exceeds 1000000000-byte limit", "fatal error: stack overflow", "",
			"goroutine 1 gp=0x7e8bd881e0 m=0 mp=0x585140 [running]:", "main.crumb({0x0?, 0x5?})",
			"\t/app/main.go:11 +0x85 fp=0x7eabee04a8 sp=0x7eabee0438 pc=0x49e2e5", "...9586863 frames elided...",
			"main.crumb(...)", "\t/app/main.go:11", "main.main()", "\t/app/main.go:14 +0x25",
			"level=info msg=restarted"}, []int{11}},
		{"function lines after a lost start open nothing", []string{
			"\t/app/main.go:5 +0x1d", "main.main()", "\t/app/main.go:9 +0x1d", "", "main.helper"}, nil},
		{"ordinary lines never start a block", []string{
			"goroutine pool resized", "panicking is not an option", "fatal: not a git repo"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, b := range goSplitBlocks(Go{}, tc.lines) {
				got = append(got, len(b))
			}
			if !equalInts(got, tc.want) {
				t.Errorf("block sizes = %v, want %v", got, tc.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGoErrorType pins the request-free error classes.
func TestGoErrorType(t *testing.T) {
	tests := []struct{ line, want string }{
		{"panic: runtime error: index out of range [3] with length 3", "runtime error: index out of range"},
		{"panic: runtime error: slice bounds out of range [:5] with capacity 3", "runtime error: slice bounds out of range"},
		{"panic: runtime error: invalid memory address or nil pointer dereference", "runtime error: invalid memory address or nil pointer dereference"},
		{"panic: runtime error: hash of unhashable type []int", "runtime error: hash of unhashable type []int"},
		{"panic: interface conversion: interface {} is string, not int", "interface conversion"},
		{"panic: assignment to entry in nil map", "assignment to entry in nil map"},
		{`panic: user "bob@example.com" not found (id 18231)`, `user "*" not found (id N)`},
		{"panic: Error 1062: Duplicate entry 'bob' for key 'PRIMARY'; can't insert", "Error N: Duplicate entry '*' for key '*'; can't insert"},
		{"panic: session 3fa85f64-5717-4562-b3fc-2c963f66afa6 expired", "session N-N-N-N-N expired"},
		{"panic: bad pointer 0xc000123456 in cache", "bad pointer in cache"},
		{"panic: (main.ErrPayment) 0x4d5150", "main.ErrPayment"},
		{"panic: main.Code(42)", "main.Code"},
		{`panic: &errors.errorString{s:"boom"}`, "errors.errorString"},
		{"panic: sha256 mismatch for utf8 input", "sha256 mismatch for utf8 input"},
		{"fatal error: concurrent map read and map write", "fatal error: concurrent map read and map write"},
		{"fatal error: runtime: cannot allocate memory", "fatal error: runtime: cannot allocate memory"},
		{"panic: " + strings.Repeat("word ", 100), strings.TrimSpace(strings.Repeat("word ", 40))},
	}
	for _, tc := range tests {
		tr := Go{}.Parse([]string{tc.line, "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:3 +0x1"})
		if tr.ErrorType != tc.want {
			t.Errorf("ErrorType(%q) = %q, want %q", tc.line, tr.ErrorType, tc.want)
		}
	}
}

// TestGoFrameFields pins Package and Library derivation.
func TestGoFrameFields(t *testing.T) {
	tests := []struct {
		fn, path, pkg string
		library       bool
	}{
		{"main.main()", "/app/main.go:9", "main", false},
		{"main.(*Cart).Total(...)", "/app/cart.go:9", "main", false},
		{"github.com/acme/shop/cart.(*Cart).Total(0x0)", "/app/cart/cart.go:9", "github.com/acme/shop/cart", false},
		{"github.com/acme/shop/cart.Map[...]({0x1, 0x2})", "github.com/acme/shop/cart/map.go:9", "github.com/acme/shop/cart", false},
		{"gopkg.in/yaml%2ev3.(*decoder).unmarshal(0x1)", "/go/pkg/mod/gopkg.in/yaml.v3@v3.0.1/decode.go:9", "gopkg.in/yaml.v3", true},
		{"golang.org/x/sync/errgroup.(*Group).Go.func1()", "golang.org/x/sync@v0.8.0/errgroup/errgroup.go:78", "golang.org/x/sync/errgroup", true},
		{"github.com/acme/shop/vendor/github.com/lib/pq.Open()", "/app/vendor/github.com/lib/pq/conn.go:9", "github.com/acme/shop/vendor/github.com/lib/pq", true},
		{"net/http.(*conn).serve(0xc0000)", "/usr/local/go/src/net/http/server.go:9", "net/http", true},
		{"net/http.(*conn).serve(0xc0000)", "net/http/server.go:9", "net/http", true},
		{"runtime.gopanic({0x1, 0x2})", "/opt/sdk/go1.22/src/runtime/panic.go:9", "runtime", true},
		{"panic({0x4c1520?, 0xc0000?})", "runtime/panic.go:860", "runtime", true},
		{"app/cart.Total()", "/build/app/cart/cart.go:9", "app/cart", false},
		{"newstd/thing.F()", "/opt/go/src/newstd/thing/f.go:9", "newstd/thing", true},
		{"type:.eq.main.T(0x1)", "<autogenerated>:1", "type:", true},
	}
	for _, tc := range tests {
		tr := Go{}.Parse([]string{"goroutine 1 [running]:", tc.fn, "\t" + tc.path + " +0x1d"})
		if len(tr.Frames) != 1 {
			t.Fatalf("%s: got %d frames", tc.fn, len(tr.Frames))
		}
		f := tr.Frames[0]
		if f.Package != tc.pkg || f.Library != tc.library {
			t.Errorf("%s at %s: Package %q Library %v, want %q %v", tc.fn, tc.path, f.Package, f.Library, tc.pkg, tc.library)
		}
	}
}

// TestGoDetect checks which structured-log stack fields count as Go.
func TestGoDetect(t *testing.T) {
	tests := []struct {
		name  string
		block []string
		want  bool
	}{
		{"zap frames", []string{"main.handler", "\t/app/main.go:42"}, true},
		{"debug.Stack", []string{"goroutine 1 [running]:", "main.main()", "\t/app/main.go:4 +0x1"}, true},
		{"java", []string{"java.lang.NullPointerException", "\tat com.acme.Cart.total(Cart.java:42)"}, false},
		{"python", []string{"Traceback (most recent call last):", `  File "app.py", line 3, in <module>`}, false},
		{"node", []string{"TypeError: x is undefined", "    at total (/app/cart.js:4:11)"}, false},
		{"prose", []string{"all good", "nothing to see"}, false},
	}
	for _, tc := range tests {
		if got := (Go{}).Detect(tc.block); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestGoStartContinueNoAlloc holds the hot path to zero allocations: both
// run on every line of every log.
func TestGoStartContinueNoAlloc(t *testing.T) {
	block := []string{"panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5 +0x1d"}
	line := "2026-11-20T10:42:01.123Z INFO GET /api/cart 200 1.2ms"
	allocs := testing.AllocsPerRun(100, func() {
		_ = Go{}.Start(line)
		_ = Go{}.Continue(block, line)
		_ = Go{}.Continue(block, "\t/usr/local/go/src/runtime/panic.go:1 +0x1")
	})
	if allocs != 0 {
		t.Errorf("Start/Continue allocate %v times per line, want 0", allocs)
	}
}
