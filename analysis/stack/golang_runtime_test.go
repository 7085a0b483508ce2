package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/incident"
)

// TestGoRuntimeCrashes builds testdata/go/crasher.txtar with the local Go
// toolchain (normally and with -trimpath), crashes it in every mode and
// checks what the parser reads from the real stderr: the error class, the
// top application frame (the line marked "// CRASH:<mode>"), the goroutine,
// and that Start/Continue cut the output into exactly one block.
func TestGoRuntimeCrashes(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	src, markers := goWriteCrasher(t)
	tests := []struct {
		mode, errorType, function string
		env                       string
		otherGoroutine            bool // the crash is not on goroutine 1
		chainFunction             string
	}{
		{mode: "index", errorType: "runtime error: index out of range", function: "github.com/acme/shop/cart.(*Cart).Item"},
		{mode: "nilmethod", errorType: "runtime error: invalid memory address or nil pointer dereference", function: "github.com/acme/shop/cart.(*Cart).Total"},
		{mode: "nilmap", errorType: "assignment to entry in nil map", function: "github.com/acme/shop/cart.Tag"},
		{mode: "typeassert", errorType: "interface conversion", function: "github.com/acme/shop/cart.Quantity"},
		{mode: "divzero", errorType: "runtime error: integer divide by zero", function: "github.com/acme/shop/cart.(*Cart).Average"},
		{mode: "goroutine", errorType: "runtime error: index out of range", function: "github.com/acme/shop/cart.(*Cart).Item", otherGoroutine: true},
		{mode: "repanic", errorType: "runtime error: index out of range", function: "github.com/acme/shop/cart.(*Cart).Item", chainFunction: "main.repanic.func1"},
		{mode: "wrapped", errorType: "runtime error: index out of range", function: "github.com/acme/shop/cart.(*Cart).Item", chainFunction: "main.wrapped.func1"},
		{mode: "customerr", errorType: "charge order N: payment declined: code N", function: "main.customErr"},
		{mode: "structval", errorType: "main.ErrPayment", function: "main.init.func6"},
		{mode: "joined", errorType: "stock low", function: "main.init.func7"},
		{mode: "mapwrites", errorType: "fatal error: concurrent map writes", function: "main.mapWrites.func1", otherGoroutine: true},
		{mode: "deadlock", errorType: "fatal error: all goroutines are asleep - deadlock!", function: "main.deadlock"},
		{mode: "all", errorType: "runtime error: index out of range", function: "github.com/acme/shop/cart.(*Cart).Item", env: "GOTRACEBACK=all"},
	}
	for _, build := range []struct {
		name  string
		flags []string
	}{{"default", nil}, {"trimpath", []string{"-trimpath"}}} {
		bin := goBuildCrasher(t, goBin, src, build.flags)
		for _, tc := range tests {
			t.Run(build.name+"/"+tc.mode, func(t *testing.T) {
				stderr := goRunCrasher(t, bin, tc.mode, tc.env)
				if tc.mode == "all" && strings.Count(stderr, "\ngoroutine ") < 21 {
					t.Fatalf("GOTRACEBACK=all printed fewer than 21 goroutines:\n%s", stderr)
				}
				block := goOneBlock(t, Go{}, stderr)
				tr := Go{}.Parse(block)
				if tr.ErrorType != tc.errorType {
					t.Errorf("ErrorType = %q, want %q", tr.ErrorType, tc.errorType)
				}
				if first := strings.TrimPrefix(strings.SplitN(stderr, "\n", 2)[0], "panic: "); !strings.HasPrefix(first, tr.Message) || tr.Message == "" {
					t.Errorf("Message = %q, want the first line %q", tr.Message, first)
				}
				goCheckTopFrame(t, tr.Frames, tc.function, markers["CRASH:"+tc.mode], build.name == "trimpath")
				if (tr.Goroutine != 1) != tc.otherGoroutine || tr.Goroutine == 0 {
					t.Errorf("Goroutine = %d, want 1: %v", tr.Goroutine, !tc.otherGoroutine)
				}
				if tc.chainFunction != "" {
					if len(tr.Chain) != 1 {
						t.Fatalf("Chain has %d entries, want 1 (the re-panic)", len(tr.Chain))
					}
					goCheckTopFrame(t, tr.Chain[0].Frames, tc.chainFunction, markers["CHAIN:"+tc.mode], build.name == "trimpath")
				}
				if len(tr.Problems) > 0 {
					t.Errorf("Problems on real runtime output: %q", tr.Problems)
				}
				goCheckLibraryFlags(t, tr.Frames)
			})
		}
	}
}

// TestGoHTTPPanicRuntime: a web service's handler panics and net/http
// recovers it, logging "http: panic serving ADDR: VALUE" and the stack
// printed inside its deferred recover. The panic value is the message, the
// crash site is below panic(...), and net/http's recover is the chain.
func TestGoHTTPPanicRuntime(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go toolchain not on PATH")
	}
	src, markers := goWriteCrasher(t)
	for _, build := range []struct {
		name  string
		flags []string
	}{{"default", nil}, {"trimpath", []string{"-trimpath"}}} {
		t.Run(build.name, func(t *testing.T) {
			bin := goBuildCrasher(t, goBin, filepath.Join(src, "httpd"), build.flags)
			stderr := goRunCrasher(t, bin, "serve", "")
			if !strings.Contains(stderr, "http: panic serving 127.0.0.1:") {
				t.Fatalf("net/http logged no recovered panic:\n%s", stderr)
			}
			tr := Go{}.Parse(goOneBlock(t, Go{}, stderr))
			if tr.ErrorType != "runtime error: index out of range" || tr.Message != "runtime error: index out of range [4] with length 3" {
				t.Errorf("got %q / %q", tr.ErrorType, tr.Message)
			}
			goCheckTopFrame(t, tr.Frames, "github.com/acme/shop/cart.(*Cart).Item", markers["CRASH:index"], build.name == "trimpath")
			if len(tr.Chain) != 1 || len(tr.Chain[0].Frames) == 0 || tr.Chain[0].Frames[0].Function != "net/http.(*conn).serve.func1" {
				t.Errorf("chain %+v, want net/http's recover", tr.Chain)
			}
			if tr.Goroutine <= 1 || len(tr.Problems) > 0 {
				t.Errorf("goroutine %d, problems %q", tr.Goroutine, tr.Problems)
			}
			goCheckLibraryFlags(t, tr.Frames)
		})
	}
}

// goMarker is where a "// CRASH:<mode>" comment sits.
type goMarker struct {
	file string // module-relative, e.g. "cart/cart.go"
	line int
}

// goWriteCrasher unpacks the crasher program into a temp dir and indexes its
// markers.
func goWriteCrasher(t *testing.T) (string, map[string][]goMarker) {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "go", "crasher.txtar"))
	if err != nil {
		t.Fatalf("read crasher program: %v", err)
	}
	dir := t.TempDir()
	markers := map[string][]goMarker{}
	re := regexp.MustCompile(`(CRASH|CHAIN):[a-z]+`)
	for _, f := range ar.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(f.Data), "\n") {
			for _, m := range re.FindAllString(l, -1) {
				markers[m] = append(markers[m], goMarker{f.Name, i + 1})
			}
		}
	}
	return dir, markers
}

func goBuildCrasher(t *testing.T, goBin, dir string, flags []string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crasher")
	args := append([]string{"build", "-o", bin}, flags...)
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", flags, err, out)
	}
	return bin
}

// goRunCrasher runs one mode and returns its stderr; the process must die
// with the runtime's exit status 2.
func goRunCrasher(t *testing.T, bin, mode, env string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, mode)
	cmd.Env = append(os.Environ(), "GOTRACEBACK=single")
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("crasher %s: want exit status 2, got %v\n%s", mode, err, stderr.String())
	}
	return stderr.String()
}

// goOneBlock feeds stderr, framed by ordinary log lines and the "exit status
// 2" that `go run` adds, through Start/Continue like the reassembler does,
// and requires exactly one block holding the whole crash.
func goOneBlock(t *testing.T, p Parser, stderr string) []string {
	t.Helper()
	crash := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	lines := append([]string{"2026-11-20T10:42:00Z INFO charging order"}, crash...)
	lines = append(lines, "exit status 2", "2026-11-20T10:42:02Z INFO restarting")
	blocks := goSplitBlocks(p, lines)
	if len(blocks) != 1 {
		t.Fatalf("Start/Continue cut %d blocks, want 1: %q", len(blocks), blocks)
	}
	if want := len(crash) + 1; len(blocks[0]) != want {
		t.Fatalf("block has %d lines, want %d (the crash and exit status):\n%s",
			len(blocks[0]), want, strings.Join(blocks[0], "\n"))
	}
	return blocks[0]
}

// goSplitBlocks mimics the reassembler: Start opens a block, Continue extends
// it, the first refused line closes it and may open the next.
func goSplitBlocks(p Parser, lines []string) [][]string {
	var blocks [][]string
	var cur []string
	for i, l := range lines {
		if cur != nil && p.Continue(cur, l) {
			cur = append(cur, l)
			continue
		}
		if cur != nil {
			blocks, cur = append(blocks, cur), nil
		}
		if !p.Start(l) {
			continue
		}
		// As the reassembler does: a trace that needs its message line
		// opens only behind one, which becomes its first line.
		if pf, ok := p.(Prefaced); ok && pf.NeedsPreface(l) {
			if i > 0 && pf.IsPreface(lines[i-1], i > 1 && strings.HasPrefix(lines[i-2], "\t")) {
				cur = []string{lines[i-1], l}
			}
			continue
		}
		cur = []string{l}
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}
	return blocks
}

// goCheckTopFrame requires the first non-library frame to be fn at one of the
// marked lines; with -trimpath the path is the module path.
func goCheckTopFrame(t *testing.T, frames []incident.Frame, fn string, at []goMarker, trimpath bool) {
	t.Helper()
	if len(at) == 0 {
		t.Fatalf("no goMarker for %s in crasher.txtar", fn)
	}
	var top *incident.Frame
	for i := range frames {
		if !frames[i].Library {
			top = &frames[i]
			break
		}
	}
	if top == nil {
		t.Fatalf("no application frame in %+v", frames)
	}
	if top.Function != fn {
		t.Errorf("top frame Function = %q, want %q", top.Function, fn)
	}
	wantPkg := "github.com/acme/shop/cart"
	if strings.HasPrefix(fn, "main.") {
		wantPkg = "main"
	}
	if top.Package != wantPkg {
		t.Errorf("top frame Package = %q, want %q", top.Package, wantPkg)
	}
	for _, m := range at {
		okPath := strings.HasSuffix(top.Path, "/"+m.file)
		if trimpath {
			okPath = top.Path == "github.com/acme/shop/"+m.file
		}
		if okPath && top.Line == m.line {
			return
		}
	}
	t.Errorf("top frame at %s:%d, want one of %v", top.Path, top.Line, at)
}

// goCheckLibraryFlags requires runtime and standard-library frames to be
// marked Library and application frames not to be.
func goCheckLibraryFlags(t *testing.T, frames []incident.Frame) {
	t.Helper()
	for _, f := range frames {
		app := f.Package == "main" || strings.HasPrefix(f.Package, "github.com/acme/shop")
		if app == f.Library {
			t.Errorf("frame %s (%s) Library = %v", f.Function, f.Path, f.Library)
		}
	}
}

func ExampleGo_Parse() {
	tr := Go{}.Parse(strings.Split(`panic: runtime error: index out of range [3] with length 3

goroutine 1 [running]:
github.com/acme/shop/cart.(*Cart).Total(...)
	/app/cart/cart.go:18
main.main()
	/app/main.go:9 +0x1d`, "\n"))
	f := tr.Frames[0]
	fmt.Printf("%s | %s\n%s %s:%d pkg=%s library=%v\n", tr.ErrorType, tr.Message, f.Function, f.Path, f.Line, f.Package, f.Library)
	// Output:
	// runtime error: index out of range | runtime error: index out of range [3] with length 3
	// github.com/acme/shop/cart.(*Cart).Total /app/cart/cart.go:18 pkg=github.com/acme/shop/cart library=false
}
