package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Helpers shared by the Java, Python and Node tests (java_test.go,
// python_test.go, node_test.go).

func init() {
	// Another test file of this package may define -update already.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func othersUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// othersBlocks mimics the reassembler on one stream: Start opens a block,
// Continue extends it, and the first line Continue refuses closes it (and
// may open the next).
func othersBlocks(p Parser, lines []string) [][]string {
	var blocks [][]string
	var cur []string
	for _, l := range lines {
		if cur != nil && p.Continue(cur, l) {
			cur = append(cur, l)
			continue
		}
		if cur != nil {
			blocks = append(blocks, cur)
			cur = nil
		}
		if p.Start(l) {
			cur = []string{l}
		}
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}
	return blocks
}

// othersLines splits captured output into lines, dropping the final newline.
func othersLines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// othersCrashLine returns the 1-based line of src carrying marker.
func othersCrashLine(t *testing.T, src, marker string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("program has no %q marker", marker)
	return 0
}

// othersRun runs a runtime in dir and returns its stderr; the program is
// expected to crash. The test is skipped when the runtime is missing.
func othersRun(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s not installed", bin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("%s %v exited 0; stderr:\n%s", bin, args, stderr.String())
	}
	return stderr.String()
}

// othersTopApp returns the innermost frame that is not Library.
func othersTopApp(t *testing.T, tr incident.Trace) incident.Frame {
	t.Helper()
	for _, f := range tr.Frames {
		if !f.Library {
			return f
		}
	}
	t.Fatalf("no application frame in %+v", tr.Frames)
	return incident.Frame{}
}

// othersChainTypes lists the ErrorType of each chained trace.
func othersChainTypes(tr incident.Trace) []string {
	var out []string
	for _, c := range tr.Chain {
		out = append(out, c.ErrorType)
	}
	return out
}

// othersCheckOneBlock asserts that the reassembler loop reads the whole
// stderr as one block and returns it parsed.
func othersCheckOneBlock(t *testing.T, p Parser, stderr string) incident.Trace {
	t.Helper()
	lines := othersLines(stderr)
	blocks := othersBlocks(p, lines)
	if len(blocks) != 1 || len(blocks[0]) != len(lines) {
		t.Fatalf("want 1 block of %d lines, got %d blocks %q\nstderr:\n%s", len(lines), len(blocks), blocks, stderr)
	}
	return p.Parse(blocks[0])
}

// othersCorpusGolden parses each git-stacktrace corpus file whose name
// starts with prefix and compares the result with its golden JSON.
func othersCorpusGolden(t *testing.T, p Parser, prefix string) map[string]incident.Trace {
	dir := filepath.Join("testdata", "corpus", "git-stacktrace")
	files, err := filepath.Glob(filepath.Join(dir, prefix+"[0-9]*.trace"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s corpus files: %v", prefix, err)
	}
	out := map[string]incident.Trace{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".trace")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := othersLines(strings.TrimRight(string(data), "\n "))
		if !p.Detect(lines) {
			t.Errorf("%s: Detect = false", name)
		}
		tr := p.Parse(lines)
		out[name] = tr
		got, _ := json.MarshalIndent(tr, "", "  ")
		golden := filepath.Join(dir, "golden", name+".json")
		if othersUpdating() {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", name, err)
		}
		if string(bytes.TrimSpace(want)) != string(got) {
			t.Errorf("%s: parse differs from %s:\n%s", name, golden, got)
		}
	}
	return out
}

const javaNPE = `public class Main {
    static String name;
    static int len(String s) {
        return s.length(); // CRASH
    }
    public static void main(String[] args) {
        len(name);
    }
}
`

const javaAIOOBE = `public class Main {
    static int third(int[] a) {
        return a[2]; // CRASH
    }
    public static void main(String[] args) {
        System.out.println(third(new int[]{1, 2}));
    }
}
`

const javaWrapped = `package com.acme.shop;

public class Main {
    static void load(int[] a) {
        a[3] = 1; // CRASH
    }
    static void wrap() {
        try {
            load(new int[2]);
        } catch (Exception e) {
            throw new RuntimeException("load failed", e);
        }
    }
    public static void main(String[] args) {
        wrap();
    }
}
`

func TestJavaRuntime(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("java not installed")
	}
	tests := []struct {
		name     string
		src      string
		compile  bool // javac then java -cp, which prints "... N more"
		errType  string
		message  string
		function string
		pkg      string
		chain    []string
	}{
		{name: "helpful NPE", src: javaNPE, errType: "java.lang.NullPointerException",
			message:  `java.lang.NullPointerException: Cannot invoke "String.length()" because "<parameter1>" is null`,
			function: "Main.len"},
		{name: "array index", src: javaAIOOBE, errType: "java.lang.ArrayIndexOutOfBoundsException",
			message:  "java.lang.ArrayIndexOutOfBoundsException: Index 2 out of bounds for length 2",
			function: "Main.third"},
		{name: "caused by", src: javaWrapped, compile: true,
			errType:  "java.lang.ArrayIndexOutOfBoundsException",
			message:  "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 2",
			function: "com.acme.shop.Main.load", pkg: "com.acme.shop",
			chain: []string{"java.lang.RuntimeException"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Main.java"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr string
			if tc.compile {
				if out, err := exec.Command("javac", "-d", dir, filepath.Join(dir, "Main.java")).CombinedOutput(); err != nil {
					t.Fatalf("javac: %v\n%s", err, out)
				}
				stderr = othersRun(t, dir, "java", "-cp", dir, "com.acme.shop.Main")
			} else {
				stderr = othersRun(t, dir, "java", "Main.java")
			}
			tr := othersCheckOneBlock(t, Java{}, stderr)
			if tr.ErrorType != tc.errType || tr.Message != tc.message {
				t.Errorf("got %q / %q, want %q / %q", tr.ErrorType, tr.Message, tc.errType, tc.message)
			}
			top := othersTopApp(t, tr)
			want := othersCrashLine(t, tc.src, "// CRASH")
			if top.Function != tc.function || top.Path != "Main.java" || top.Line != want || top.Package != tc.pkg {
				t.Errorf("top frame %+v, want %s Main.java:%d package %q", top, tc.function, want, tc.pkg)
			}
			if got := othersChainTypes(tr); strings.Join(got, ",") != strings.Join(tc.chain, ",") {
				t.Errorf("chain %v, want %v", got, tc.chain)
			}
			if tc.compile {
				// "... 2 more" is completed from the wrapper: load <- wrap <- main.
				var fns []string
				for _, f := range tr.Frames {
					fns = append(fns, f.Function)
				}
				if strings.Join(fns, " ") != "com.acme.shop.Main.load com.acme.shop.Main.wrap com.acme.shop.Main.main" {
					t.Errorf("frames %v", fns)
				}
			}
		})
	}
}

func TestJavaParseForms(t *testing.T) {
	block := []string{
		`Exception in thread "pool-1-thread-3" java.lang.IllegalStateException: cart closed`,
		"\tat app//com.acme.cart.CartService.checkout(CartService.kt:42)",
		"\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1541)",
		"\tat com.acme.cart.Handler$$Lambda$14/0x0000000800c03000.run(Unknown Source)",
		"\tat jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
		"\tat scala.collection.immutable.List.map(List.scala:293)",
		"\tat com.acme.web.Router.route(Router.java:77) ~[app.jar:1.4.0]",
		"\tSuppressed: java.io.IOException: close failed",
		"\t\tat com.acme.cart.Store.close(Store.java:9)",
		"\t\t... 1 more",
	}
	j := Java{}
	if got := othersBlocks(j, block); len(got) != 1 || len(got[0]) != len(block) {
		t.Fatalf("blocks %q", got)
	}
	tr := j.Parse(block)
	if tr.ErrorType != "java.lang.IllegalStateException" || tr.Message != "java.lang.IllegalStateException: cart closed" {
		t.Errorf("header %q / %q", tr.ErrorType, tr.Message)
	}
	want := []incident.Frame{
		{Function: "com.acme.cart.CartService.checkout", Path: "CartService.kt", Line: 42, Package: "com.acme.cart"},
		{Function: "java.util.ArrayList.forEach", Path: "ArrayList.java", Line: 1541, Package: "java.util", Library: true},
		{Function: "com.acme.cart.Handler$$Lambda$14/0x0000000800c03000.run", Package: "com.acme.cart", Library: true},
		{Function: "jdk.internal.reflect.NativeMethodAccessorImpl.invoke0", Package: "jdk.internal.reflect", Library: true},
		{Function: "scala.collection.immutable.List.map", Path: "List.scala", Line: 293, Package: "scala.collection.immutable", Library: true},
		{Function: "com.acme.web.Router.route", Path: "Router.java", Line: 77, Package: "com.acme.web"},
	}
	if len(tr.Frames) != len(want) {
		t.Fatalf("frames %+v", tr.Frames)
	}
	for i := range want {
		if tr.Frames[i] != want[i] {
			t.Errorf("frame %d = %+v, want %+v", i, tr.Frames[i], want[i])
		}
	}
	if len(tr.Chain) != 1 || tr.Chain[0].ErrorType != "java.io.IOException" || len(tr.Chain[0].Frames) != 2 ||
		tr.Chain[0].Frames[1].Function != "com.acme.web.Router.route" {
		t.Errorf("suppressed %+v", tr.Chain)
	}
}

// TestJavaInitializerReplay: after a static initializer failed, each use
// of the class throws NoClassDefFoundError whose cause replays the first
// failure ("ExceptionInInitializerError: Exception X: msg [in thread
// "main"]"); it must read as that failure, X with the same frames, so that
// both group into one incident. The fixtures are real JDK 17 output.
func TestJavaInitializerReplay(t *testing.T) {
	tests := []struct {
		file     string
		errType  string
		messages []string // of the first failure, then of the replay
		top      string
		frames   int
	}{
		{"clinit-replay-lambda.txt", "java.lang.ArrayIndexOutOfBoundsException", []string{
			"java.lang.ArrayIndexOutOfBoundsException: Index 1 out of bounds for length 1",
			"java.lang.ArrayIndexOutOfBoundsException: Index 1 out of bounds for length 1",
		}, "Main$Rates.lambda$static$1", 12},
		{"clinit-replay-npe.txt", "java.lang.NullPointerException", []string{
			`java.lang.NullPointerException: Cannot invoke "String.toUpperCase()" because the return value of "java.lang.System.getenv(String)" is null`,
			"java.lang.NullPointerException",
		}, "com.acme.tax.TaxTable.<clinit>", 2},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "java", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			blocks := othersBlocks(Java{}, strings.Split(strings.TrimRight(string(b), "\n"), "\n"))
			if len(blocks) != 2 {
				t.Fatalf("%d blocks, want 2", len(blocks))
			}
			for i, bl := range blocks {
				tr := Java{}.Parse(bl)
				if tr.ErrorType != tc.errType || tr.Message != tc.messages[i] {
					t.Errorf("block %d: %q / %q, want %q / %q", i, tr.ErrorType, tr.Message, tc.errType, tc.messages[i])
				}
				if len(tr.Frames) != tc.frames || tr.Frames[0].Function != tc.top {
					t.Errorf("block %d: frames %+v", i, tr.Frames)
				}
				if len(tr.Chain) != 1 {
					t.Errorf("block %d: chain %+v", i, tr.Chain)
				}
			}
		})
	}
	if got := javaUnwrapInitReplay("java.lang.ExceptionInInitializerError"); got != "java.lang.ExceptionInInitializerError" {
		t.Errorf("a plain header changed: %q", got)
	}
}

func TestJavaCauseWithoutOwnFrames(t *testing.T) {
	// A cause printing only "... N more" still gets the shared frames, and
	// an oversized N is reported, not a panic.
	tr := Java{}.Parse([]string{
		"java.lang.RuntimeException: wrapper",
		"\tat com.acme.A.a(A.java:1)",
		"Caused by: com.acme.BadThing: x",
		"\t... 9 more",
	})
	if tr.ErrorType != "com.acme.BadThing" || len(tr.Frames) != 1 || len(tr.Problems) == 0 {
		t.Errorf("got %+v", tr)
	}
}

func TestJavaCorpus(t *testing.T) {
	got := othersCorpusGolden(t, Java{}, "java")
	facts := []struct {
		file, errType string
		frames        int
		top           string // innermost frame's function
		topApp        string
	}{
		{"java1", "java.io.FileNotFoundException", 4, "java.io.FileInputStream.open", "com.devdaily.tests.ExceptionTest."},
		{"java2", "com.google.common.base.VerifyException", 15, "com.google.common.base.Verify.verify", "com.google.common.base.Verify.verify"},
		{"java3", "java.lang.RuntimeException", 17, "com.pinterest.metatron.jbender.MetatronRequestExecutor.execute", "com.pinterest.metatron.jbender.MetatronRequestExecutor.execute"},
		{"java4", "java.lang.IllegalArgumentException", 17, "java.util.TimSort.mergeLo", "com.pinterest.metatron.search.MetatronSearcher.fullScore"},
	}
	for _, f := range facts {
		tr := got[f.file]
		if tr.ErrorType != f.errType || len(tr.Frames) != f.frames || tr.Frames[0].Function != f.top {
			t.Errorf("%s: %q, %d frames, top %q; want %q, %d, %q", f.file, tr.ErrorType, len(tr.Frames), tr.Frames[0].Function, f.errType, f.frames, f.top)
		}
		if app := othersTopApp(t, tr); app.Function != f.topApp {
			t.Errorf("%s: top app frame %q, want %q", f.file, app.Function, f.topApp)
		}
	}
}

// TestJavaRootCauseFirst: logback's root-cause-first converters (%rEx,
// logstash-logback-encoder's rootCauseFirst) print the root cause first and
// each wrapper after it as "Wrapped by:", and Dropwizard's default format
// puts "! " before every line and calls the wrappers "Causing:". The root
// cause is the primary trace, and its "... N common frames omitted" stands
// for the bottom frames of the wrapper printed after it. The fixtures are
// the output of a real JDK 17 run of a service whose logger prints so.
func TestJavaRootCauseFirst(t *testing.T) {
	frames := []string{
		"java.lang.NumberFormatException.forInputString:67",
		"java.lang.Long.parseLong:711",
		"java.lang.Long.parseLong:836",
		"com.acme.accounts.core.AccountIds.parse:7",
		"com.acme.accounts.core.AccountStore.owner:10",
		"com.acme.accounts.resources.AccountResource.get:12",
		"com.acme.accounts.resources.AccountResource.main:22",
	}
	chain := []struct {
		errType string
		frames  []string
	}{
		{"java.lang.IllegalArgumentException", []string{
			"com.acme.accounts.core.AccountStore.owner:12",
			"com.acme.accounts.resources.AccountResource.get:12",
			"com.acme.accounts.resources.AccountResource.main:22",
		}},
		{"java.lang.RuntimeException", []string{
			"com.acme.accounts.resources.AccountResource.get:14",
			"com.acme.accounts.resources.AccountResource.main:22",
		}},
	}
	for _, file := range []string{"dropwizard-root-cause-first.txt", "logback-rex-wrapped-by.txt"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "java", file))
			if err != nil {
				t.Fatal(err)
			}
			blocks := othersBlocks(Java{}, othersLines(string(b)))
			if len(blocks) != 2 {
				t.Fatalf("%d blocks, want 2: %q", len(blocks), blocks)
			}
			for i, bl := range blocks {
				if len(bl) != 14 {
					t.Errorf("block %d has %d lines, want 14", i, len(bl))
				}
				tr := Java{}.Parse(bl)
				if tr.ErrorType != "java.lang.NumberFormatException" || !strings.HasPrefix(tr.Message, "java.lang.NumberFormatException: For input string: \"ACC-") {
					t.Errorf("block %d: %q / %q", i, tr.ErrorType, tr.Message)
				}
				if got := javaFrameNames(tr.Frames); !slices.Equal(got, frames) {
					t.Errorf("block %d: frames %q, want %q", i, got, frames)
				}
				if len(tr.Problems) > 0 {
					t.Errorf("block %d: problems %q", i, tr.Problems)
				}
				if len(tr.Chain) != len(chain) {
					t.Fatalf("block %d: chain %+v", i, tr.Chain)
				}
				for j, c := range chain {
					if got := javaFrameNames(tr.Chain[j].Frames); tr.Chain[j].ErrorType != c.errType || !slices.Equal(got, c.frames) {
						t.Errorf("block %d: chain %d = %q %q, want %q %q", i, j, tr.Chain[j].ErrorType, got, c.errType, c.frames)
					}
				}
			}
		})
	}
}

// TestJavaBangContinues: behind Dropwizard's "! " a block continues only
// with lines that carry it too, and a plain trace never takes a "! " line.
func TestJavaBangContinues(t *testing.T) {
	tests := []struct {
		first, line string
		want        bool
	}{
		{"! java.lang.IllegalStateException: x", "! at com.acme.A.a(A.java:1)", true},
		{"! java.lang.IllegalStateException: x", "! Causing: java.lang.RuntimeException: y", true},
		{"! java.lang.IllegalStateException: x", "! ... 3 common frames omitted", true},
		{"! java.lang.IllegalStateException: x", "! \tSuppressed: java.io.IOException: z", true},
		{"! java.lang.IllegalStateException: x", "\tat com.acme.A.a(A.java:1)", false},
		{"! java.lang.IllegalStateException: x", "INFO  [2026-11-20 10:42:01,123] com.acme.App: ok", false},
		{"java.lang.IllegalStateException: x", "! at com.acme.A.a(A.java:1)", false},
		{"java.lang.IllegalStateException: x", "Wrapped by: java.lang.RuntimeException: y", true},
		{"java.lang.IllegalStateException: x", "Causing: java.lang.RuntimeException: y", true},
	}
	for _, tc := range tests {
		if got := (Java{}).Continue([]string{tc.first}, tc.line); got != tc.want {
			t.Errorf("Continue(%q, %q) = %v, want %v", tc.first, tc.line, got, tc.want)
		}
		checkEscapedContinue(t, Java{}, []string{tc.first}, tc.line)
	}
	if !(Java{}).Start("! java.lang.IllegalStateException: x") || (Java{}).Start("! at com.acme.A.a(A.java:1)") {
		t.Error("Start behind \"! \"")
	}
}

// javaFrameNames lists frames as "function:line".
func javaFrameNames(fs []incident.Frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Function + ":" + strconv.Itoa(f.Line)
	}
	return out
}
