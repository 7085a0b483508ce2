package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

func TestNodeRuntime(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		src      string
		errType  string
		message  string // prefix of the expected message
		function string // innermost application frame; "" for none
		chain    []string
	}{
		{name: "property of undefined", file: "prog.js", src: `function total(cart) {
  return cart.items.length; // CRASH
}
total({});
`, errType: "TypeError", message: "TypeError: Cannot read properties of undefined (reading 'length')", function: "total"},
		{name: "async frames", file: "prog.js", src: `async function fetchUser(id) {
  await null;
  const user = undefined;
  return user.name; // CRASH
}
async function main() {
  await Promise.all([fetchUser(1)]);
}
main();
`, errType: "TypeError", message: "TypeError: Cannot read properties of undefined (reading 'name')", function: "fetchUser"},
		{name: "thrown in nested call", file: "prog.mjs", src: `class Cart {
  constructor(items) { this.items = items; }
  checkout() { return this.pay(); }
  pay() {
    throw new Error("checkout failed: empty cart"); // CRASH
  }
}
new Cart([]).checkout();
`, errType: "Error", message: "Error: checkout failed: empty cart", function: "Cart.pay"},
		{name: "unhandled rejection of an Error", file: "prog.js", src: `async function reserve(qty) {
  await null;
  if (qty < 1) throw new RangeError("bad qty " + qty); // CRASH
}
reserve(0);
`, errType: "RangeError", message: "RangeError: bad qty 0", function: "reserve"},
		{name: "unhandled rejection of a value", file: "prog.js", src: `Promise.reject("boom");
`, errType: "UnhandledPromiseRejection", message: "UnhandledPromiseRejection: This error originated"},
		{name: "framework exception logged by an error handler", file: "prog.js", src: `class NotFoundException extends Error {
  constructor(msg) { super(msg); this.name = "NotFoundException"; }
}
function find(id) {
  throw new NotFoundException("order " + id + " not found"); // CRASH
}
try { find(42); } catch (e) { console.error(e); process.exitCode = 1; }
`, errType: "NotFoundException", message: "NotFoundException: order 42 not found", function: "find"},
		{name: "error with cause", file: "prog.js", src: `function parse(s) {
  return JSON.parse(s); // CRASH
}
function load() {
  try { parse("{"); } catch (e) { throw new Error("load config", { cause: e }); }
}
load();
`, errType: "SyntaxError", message: "SyntaxError: ", function: "parse", chain: []string{"Error"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			stderr := othersRun(t, dir, "node", tc.file)
			tr := othersCheckOneBlock(t, Node{}, stderr)
			if tr.ErrorType != tc.errType || !strings.HasPrefix(tr.Message, tc.message) {
				t.Errorf("got %q / %q, want %q / %q...", tr.ErrorType, tr.Message, tc.errType, tc.message)
			}
			if got := othersChainTypes(tr); strings.Join(got, ",") != strings.Join(tc.chain, ",") {
				t.Errorf("chain %v, want %v", got, tc.chain)
			}
			if tc.function == "" {
				for _, f := range tr.Frames {
					if !f.Library {
						t.Errorf("unexpected application frame %+v", f)
					}
				}
				return
			}
			top := othersTopApp(t, tr)
			want := othersCrashLine(t, tc.src, "// CRASH")
			if top.Function != tc.function || !strings.HasSuffix(top.Path, "/"+tc.file) || top.Line != want || top.Column == 0 {
				t.Errorf("top frame %+v, want %s %s:%d:col", top, tc.function, tc.file, want)
			}
			if strings.HasPrefix(top.Path, "file:") {
				t.Errorf("path %q keeps its URL scheme", top.Path)
			}
		})
	}
}

func TestNodeAsyncFrames(t *testing.T) {
	dir := t.TempDir()
	src := "async function a() { await null; throw new Error('x'); }\nasync function b() { await a(); }\nb();\n"
	if err := os.WriteFile(filepath.Join(dir, "p.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := othersCheckOneBlock(t, Node{}, othersRun(t, dir, "node", "p.js"))
	var fns []string
	for _, f := range tr.Frames {
		fns = append(fns, f.Function)
	}
	if strings.Join(fns, ",") != "a,b" {
		t.Errorf("frames %v, want a,b (async frame without the async keyword)", fns)
	}
}

func TestNodeParseForms(t *testing.T) {
	tests := []struct {
		name    string
		block   []string
		errType string
		message string
		frames  []incident.Frame
	}{
		{name: "old V8 message, webpack and node_modules", block: []string{
			"TypeError: Cannot read property 'routes' of undefined",
			"    at routes (webpack:///./src/Main.js:170:58)",
			"    at callback (/app/node_modules/@remix-run/router/dist/router.js:51:3)",
			"    at Module._compile (module.js:456:26)",
			"    at /app/src/index.js:3:7",
			"    at Array.forEach (<anonymous>)",
			"    at new Promise (<anonymous>)",
			"    at node:internal/main/run_main_module:28:49",
		}, errType: "TypeError", message: "TypeError: Cannot read property 'routes' of undefined", frames: []incident.Frame{
			{Function: "routes", Path: "src/Main.js", Line: 170, Column: 58},
			{Function: "callback", Path: "/app/node_modules/@remix-run/router/dist/router.js", Line: 51, Column: 3, Package: "@remix-run/router", Library: true},
			{Function: "Module._compile", Path: "module.js", Line: 456, Column: 26, Library: true},
			{Path: "/app/src/index.js", Line: 3, Column: 7},
			{Function: "Array.forEach", Path: "<anonymous>", Library: true},
			{Function: "new Promise", Path: "<anonymous>", Library: true},
			{Path: "node:internal/main/run_main_module", Line: 28, Column: 49, Library: true},
		}},
		{name: "error code and properties", block: []string{
			"Error [ERR_INVALID_ARG_TYPE]: The \"path\" argument must be of type string. Received undefined",
			"    at Object.<anonymous> (file:///srv/app/index.mjs:2:4) {",
			"  code: 'ERR_INVALID_ARG_TYPE'",
			"}",
		}, errType: "Error", message: "Error [ERR_INVALID_ARG_TYPE]: The \"path\" argument must be of type string. Received undefined",
			frames: []incident.Frame{{Function: "Object.<anonymous>", Path: "/srv/app/index.mjs", Line: 2, Column: 4}}},
		{name: "old unhandled rejection", block: []string{
			`[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "boom".] {`,
			"  code: 'ERR_UNHANDLED_REJECTION'",
			"}",
		}, errType: "UnhandledPromiseRejection", message: `[UnhandledPromiseRejection: This error originated either by throwing inside of an async function without a catch block, or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "boom".]`},
		{name: "rejection warning", block: []string{
			"(node:4242) UnhandledPromiseRejectionWarning: TypeError: undefined is not a function",
			"    at /srv/app/a.js:1:1",
		}, errType: "TypeError", message: "TypeError: undefined is not a function",
			frames: []incident.Frame{{Path: "/srv/app/a.js", Line: 1, Column: 1}}},
		{name: "thrown string", block: []string{
			"/srv/app/a.js:7", `  throw "boom";`, "  ^", "boom",
			"(Use `node --trace-uncaught ...` to show where the exception was thrown)", "", "Node.js v20.20.2",
		}, message: "boom", frames: []incident.Frame{{Path: "/srv/app/a.js", Line: 7}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b := othersBlocks(Node{}, tc.block); len(b) != 1 || len(b[0]) != len(tc.block) {
				t.Fatalf("blocks %q", b)
			}
			tr := Node{}.Parse(tc.block)
			if tr.ErrorType != tc.errType || tr.Message != tc.message {
				t.Errorf("got %q / %q", tr.ErrorType, tr.Message)
			}
			if len(tr.Frames) != len(tc.frames) {
				t.Fatalf("frames %+v", tr.Frames)
			}
			for i := range tc.frames {
				if tr.Frames[i] != tc.frames[i] {
					t.Errorf("frame %d = %+v, want %+v", i, tr.Frames[i], tc.frames[i])
				}
			}
		})
	}
}

// TestStartOrdinaryLines checks that log lines open no trace, and which
// parser opens each kind of header.
func TestStartOrdinaryLines(t *testing.T) {
	parsers := []Parser{Java{}, Python{}, Node{}}
	tests := []struct {
		line string
		want string // languages whose Start accepts, comma-separated
	}{
		{"INFO request done", ""},
		{`{"level":"info","msg":"GET /cart 200","ts":"2026-11-20T10:42:01Z"}`, ""},
		{"2026-11-20 10:42:01,123 ERROR [main] c.a.Cart - checkout failed", ""},
		{"[2026-11-20 10:42:01] worker started", ""},
		{"/healthz 200 3ms", ""},
		{"Error rate is 3%", ""},
		{"", ""},
		{"java.lang.NullPointerException", "java"},
		{`Exception in thread "main" java.lang.IllegalStateException: x`, "java"},
		{"com.acme.cart.CartError: empty", "java"},
		{"java.lang.String: not an exception", ""},
		{"Traceback (most recent call last):", "python"},
		{"TypeError: Cannot read properties of undefined (reading 'x')", "node"},
		{"Error: not found", "node"},
		{"NotFoundException: order 42 not found", "node"},
		{"Exception: not a class", ""},
		{"Completed with 0 exceptions: fine", ""},
		{"/usr/src/app/index.js:10", "node"},
		{"file:///usr/src/app/index.mjs:3", "node"},
		{"node:internal/process/promises:389", "node"},
		{"(node:18895) [DEP0005] DeprecationWarning: Buffer() is deprecated due to security and usability issues.", "node"},
		{"(node:7) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.", "node"},
		{"(node:7) Warning: not an error", "node"},
		{"(node:x) DeprecationWarning: no pid", ""},
		{"(node:7) something else: x", ""},
		{"Trace: slow tick", "node"},
		{"Tracer started", ""},
		{"DeprecationWarning: old tariff API", "node"},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range parsers {
			if p.Start(tc.line) {
				got = append(got, p.Language())
			}
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("Start(%q) accepted by %v, want %q", tc.line, got, tc.want)
		}
	}
}

func TestDetectFramesOnly(t *testing.T) {
	java := []string{"\tat com.acme.Cart.total(Cart.java:42)"}
	python := []string{`  File "/srv/app/cart.py", line 42, in total`}
	node := []string{"    at total (/srv/app/cart.js:42:7)"}
	for _, tc := range []struct {
		p     Parser
		block []string
		want  bool
	}{
		{Java{}, java, true}, {Java{}, node, false}, {Java{}, python, false},
		{Python{}, python, true}, {Python{}, java, false}, {Python{}, node, false},
		{Node{}, node, true}, {Node{}, java, false}, {Node{}, python, false},
	} {
		if got := tc.p.Detect(tc.block); got != tc.want {
			t.Errorf("%s.Detect(%q) = %v", tc.p.Language(), tc.block, got)
		}
	}
}

func TestNodeCorpus(t *testing.T) {
	got := othersCorpusGolden(t, Node{}, "javascript")
	facts := []struct {
		file, errType string
		frames        int
		top           incident.Frame
	}{
		{"javascript1", "TypeError", 3, incident.Frame{Function: "routes", Path: "/mnt/pinboard/webapp/app/www-unauth/Main.js", Line: 170, Column: 58}},
		{"javascript2", "", 3, incident.Frame{Function: "routes", Path: "/mnt/pinboard/webapp/app/www-unauth/Main.js", Line: 170, Column: 58}},
		{"javascript3", "TypeError", 3, incident.Frame{Path: "/mnt/pinboard/webapp/app/www-unauth/Main.js", Line: 170, Column: 58}},
		{"javascript4", "TypeError", 3, incident.Frame{Function: "routes", Path: "https://s.pinimg.com/mobile/js/entryChunk-mobile-16e4a90610ff33cbf2f6.js", Line: 12, Column: 307245}},
		{"javascript5", "TypeError", 3, incident.Frame{Function: "ha</a.Ja/</<", Path: "https://smartlock.google.com/client?clientId=694505692171-31closf3bcmlt59aeulg2j81ej68j6hk.apps.googleusercontent.com", Line: 88, Column: 389}},
	}
	for _, f := range facts {
		tr := got[f.file]
		if tr.ErrorType != f.errType || len(tr.Frames) != f.frames || tr.Frames[0] != f.top {
			t.Errorf("%s: %q, %d frames, top %+v; want %q, %d, %+v", f.file, tr.ErrorType, len(tr.Frames), tr.Frames[0], f.errType, f.frames, f.top)
		}
		if !tr.Frames[1].Library || tr.Frames[1].Package != "react-router" {
			t.Errorf("%s: node_modules frame %+v", f.file, tr.Frames[1])
		}
	}
}

func TestNodeSegmentation(t *testing.T) {
	// An unclosed properties brace does not swallow the log that follows,
	// and two logged errors are two blocks.
	lines := []string{
		"Error: upstream failed {",
		"INFO request done",
		"TypeError: x is not a function",
		"    at handler (/srv/app/h.js:3:9)",
		"",
		"RangeError: Invalid array length",
		"    at grow (/srv/app/buf.js:12:5)",
		"INFO next",
	}
	blocks := othersBlocks(Node{}, lines)
	if len(blocks) != 3 || len(blocks[0]) != 1 || len(blocks[1]) != 3 || len(blocks[2]) != 2 {
		t.Fatalf("blocks %q", blocks)
	}
}

// TestNodeDiagnostics: what --trace-warnings prints under a process
// warning and what console.trace() prints (real Node 20 output) parse to no
// frames, so they are no incidents; and frames printed after an error's
// closing properties brace are not that error's.
func TestNodeDiagnostics(t *testing.T) {
	for _, block := range [][]string{
		{
			"(node:18895) [DEP0005] DeprecationWarning: Buffer() is deprecated due to security and usability issues. Please use the Buffer.alloc(), Buffer.allocUnsafe(), or Buffer.from() methods instead.",
			"    at showFlaggedDeprecation (node:buffer:191:11)",
			"    at new Buffer (node:buffer:269:3)",
			"    at legacyId (/tmp/nodetry/a.js:2:31)",
		},
		{
			"(node:29712) [FQ001] DeprecationWarning: TARIFFS_V1 is deprecated, load tariffs from the rates service",
			"    at main (/usr/src/freightq/src/main.js:10:11)",
		},
		{
			"DeprecationWarning: old tariff API",
			"    at Object.<anonymous> (/tmp/nodetry/g.js:3:9)",
			"    at Module._compile (node:internal/modules/cjs/loader:1521:14)",
		},
		{
			"Trace: slow tick in work",
			"    at work (/tmp/nodetry/b.js:1:130)",
			"    at Object.<anonymous> (/tmp/nodetry/b.js:2:1)",
		},
	} {
		n := Node{}
		if !n.Start(block[0]) {
			t.Errorf("Start(%q) = false", block[0])
			continue
		}
		for i := 1; i < len(block); i++ {
			if !n.Continue(block[:i], block[i]) {
				t.Errorf("%q: Continue refused %q", block[0], block[i])
			}
		}
		if tr := n.Parse(block); len(tr.Frames) != 0 || tr.ErrorType != "" {
			t.Errorf("%q: parsed %q with %d frames, want no frames", block[0], tr.ErrorType, len(tr.Frames))
		}
	}
	refused := []string{
		"Error: connect ECONNREFUSED 127.0.0.1:1",
		"    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {",
		"  errno: -111,",
		"  code: 'ECONNREFUSED',",
		"}",
	}
	if (Node{}).Continue(refused, "    at main (/usr/src/freightq/src/main.js:10:11)") {
		t.Error("a frame after the closing brace of the properties block was taken into the error")
	}
	if !(Node{}).Continue(refused[:4], "  [cause]: Error: inner") || !(Node{}).Continue(refused, "") {
		t.Error("the properties block or the blank line after it was refused")
	}
}
