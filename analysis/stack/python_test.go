package stack

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

func TestPythonRuntime(t *testing.T) {
	const cartlib = "class CartError(Exception):\n    pass\n"
	tests := []struct {
		name     string
		src      string
		errType  string
		message  string
		function string
		chain    []string
	}{
		{name: "KeyError", src: `def total(cart):
    return cart["sku"]  # CRASH

total({})
`, errType: "KeyError", message: "KeyError: 'sku'", function: "total"},
		{name: "AttributeError on None", src: `class Cart:
    def __init__(self):
        self.owner = None

    def owner_name(self):
        return self.owner.name  # CRASH

Cart().owner_name()
`, errType: "AttributeError", message: "AttributeError: 'NoneType' object has no attribute 'name'", function: "owner_name"},
		{name: "ZeroDivisionError", src: `def average(xs):
    return sum(xs) / len(xs)  # CRASH

print(average([]))
`, errType: "ZeroDivisionError", message: "ZeroDivisionError: division by zero", function: "average"},
		{name: "raise from", src: `import cartlib

def load(cart):
    return cart["sku"]  # CRASH

def checkout(cart):
    try:
        load(cart)
    except KeyError as e:
        raise cartlib.CartError("no sku in cart") from e

checkout({})
`, errType: "KeyError", message: "KeyError: 'sku'", function: "load", chain: []string{"cartlib.CartError"}},
		{name: "raise from, then a failing handler", src: `import cartlib

def load(cart):
    return cart["sku"]

def checkout(cart):
    try:
        load(cart)
    except KeyError as e:
        raise cartlib.CartError("no sku in cart") from e

def main():
    try:
        checkout({})
    except cartlib.CartError as e:
        report = None
        report.send(str(e))  # CRASH

main()
`, errType: "AttributeError", message: "AttributeError: 'NoneType' object has no attribute 'send'", function: "main", chain: []string{"KeyError", "cartlib.CartError"}},
		{name: "during handling", src: `import json

def parse(body):
    try:
        return json.loads(body)
    except ValueError:
        log = None
        log.warning("bad body")  # CRASH

parse("{")
`, errType: "AttributeError", message: "AttributeError: 'NoneType' object has no attribute 'warning'", function: "parse", chain: []string{"json.decoder.JSONDecodeError"}},
		{name: "no message", src: `import cartlib

def pay():
    raise cartlib.CartError  # CRASH

pay()
`, errType: "cartlib.CartError", message: "cartlib.CartError", function: "pay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range map[string]string{"prog.py": tc.src, "cartlib.py": cartlib} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stderr := othersRun(t, dir, "python3", "prog.py")
			tr := othersCheckOneBlock(t, Python{}, stderr)
			if tr.ErrorType != tc.errType || tr.Message != tc.message {
				t.Errorf("got %q / %q, want %q / %q", tr.ErrorType, tr.Message, tc.errType, tc.message)
			}
			top := othersTopApp(t, tr)
			want := othersCrashLine(t, tc.src, "# CRASH")
			if top.Function != tc.function || !strings.HasSuffix(top.Path, "/prog.py") || top.Line != want || top.Package != "prog" {
				t.Errorf("top frame %+v, want %s prog.py:%d", top, tc.function, want)
			}
			if tr.Frames[len(tr.Frames)-1].Function != "<module>" {
				t.Errorf("outermost frame %+v, want <module>", tr.Frames[len(tr.Frames)-1])
			}
			if got := othersChainTypes(tr); strings.Join(got, ",") != strings.Join(tc.chain, ",") {
				t.Errorf("chain %v, want %v", got, tc.chain)
			}
		})
	}
}

func TestPythonSegmentation(t *testing.T) {
	// Two unrelated tracebacks separated by a blank line and log lines are
	// separate blocks; the log lines belong to neither.
	lines := []string{
		"INFO request done",
		"Traceback (most recent call last):",
		`  File "/srv/app/a.py", line 3, in f`,
		"    x()",
		"NameError: name 'x' is not defined",
		"",
		"Traceback (most recent call last):",
		`  File "/srv/app/b.py", line 9, in g`,
		"ValueError",
		`{"level":"info","msg":"ok"}`,
	}
	blocks := othersBlocks(Python{}, lines)
	if len(blocks) != 2 || len(blocks[0]) != 5 || len(blocks[1]) != 3 {
		t.Fatalf("blocks %q", blocks)
	}
}

func TestPythonParseForms(t *testing.T) {
	tests := []struct {
		name    string
		block   []string
		errType string
		frames  []incident.Frame // innermost first
	}{
		{name: "python 2 with stdlib and site-packages", block: []string{
			"Traceback (most recent call last):",
			`  File "/srv/app/api/views.py", line 12, in get`,
			"    return requests.get(url)",
			`  File "/usr/lib/python2.7/dist-packages/requests/api.py", line 70, in get`,
			"    return request('get', url, params=params, **kwargs)",
			`  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads`,
			"requests.exceptions.ConnectionError: HTTPConnectionPool(host='x', port=80)",
		}, errType: "requests.exceptions.ConnectionError", frames: []incident.Frame{
			{Function: "loads", Path: "/usr/lib/python3.11/json/__init__.py", Line: 346, Package: "json", Library: true},
			{Function: "get", Path: "/usr/lib/python2.7/dist-packages/requests/api.py", Line: 70, Package: "requests.api", Library: true},
			{Function: "get", Path: "/srv/app/api/views.py", Line: 12, Package: "views"},
		}},
		{name: "frozen and string", block: []string{
			"Traceback (most recent call last):",
			`  File "<frozen runpy>", line 198, in _run_module_as_main`,
			`  File "app/main.py", line 4, in <module>`,
			`  File "<string>", line 1, in <lambda>`,
			"TypeError: 'NoneType' object is not callable",
		}, errType: "TypeError", frames: []incident.Frame{
			{Function: "<lambda>", Path: "<string>", Line: 1, Library: true},
			{Function: "<module>", Path: "app/main.py", Line: 4, Package: "app.main"},
			{Function: "_run_module_as_main", Path: "<frozen runpy>", Line: 198, Library: true},
		}},
		{name: "syntax error frame without function", block: []string{
			"Traceback (most recent call last):",
			`  File "../core/x.py", line 7`,
			"    def f(",
			"         ^",
			"SyntaxError: '(' was never closed",
		}, errType: "SyntaxError", frames: []incident.Frame{
			{Path: "../core/x.py", Line: 7, Package: "core.x"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b := othersBlocks(Python{}, tc.block); len(b) != 1 || len(b[0]) != len(tc.block) {
				t.Fatalf("blocks %q", b)
			}
			tr := Python{}.Parse(tc.block)
			if tr.ErrorType != tc.errType || tr.Message != tc.block[len(tc.block)-1] {
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

func TestPythonTruncated(t *testing.T) {
	tr := Python{}.Parse([]string{"Traceback (most recent call last):", `  File "/a.py", line 1, in f`})
	if len(tr.Frames) != 1 || len(tr.Problems) == 0 || tr.ErrorType != "" {
		t.Errorf("got %+v", tr)
	}
}

func TestPythonCorpus(t *testing.T) {
	got := othersCorpusGolden(t, Python{}, "python")
	facts := []struct {
		file, errType string
		frames        int
		topApp        string // function:line of the innermost application frame
	}{
		{"python1", "UndefinedError", 6, "top-level template code:150"},
		{"python2", "Timeout", 10, "switch:187"},
		{"python3", "error", 3, "get_ip_geo:68"},
		{"python4", "UnicodeDecodeError", 6, "write:8975"},
		{"python5", "UnboundLocalError", 4, "_get_upsell_dict:462"},
		{"python6", "KeyError", 2, "get:232"},
		{"python7", "ValueError", 14, "prettify:45"},
		{"python8", "TypeError", 2, "<module>:2"},
	}
	for _, f := range facts {
		tr := got[f.file]
		app := othersTopApp(t, tr)
		if tr.ErrorType != f.errType || len(tr.Frames) != f.frames || app.Function+":"+strconv.Itoa(app.Line) != f.topApp {
			t.Errorf("%s: %q, %d frames, top app %s:%d; want %q, %d, %s", f.file, tr.ErrorType, len(tr.Frames), app.Function, app.Line, f.errType, f.frames, f.topApp)
		}
	}
}

// TestPythonExceptionGroupRuntime: exception groups (Python 3.11+), what an
// asyncio.TaskGroup raises when a task fails, read from real runs. The
// failing task's traceback is the incident; a group built and raised in
// one place is its own.
func TestPythonExceptionGroupRuntime(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		errType  string
		message  string
		function string
		chain    []string
	}{
		{name: "TaskGroup, one task fails", src: `import asyncio

async def fetch(key):
    await asyncio.sleep(0)
    return {"a": 1}[key]  # CRASH

async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch("a"))
        tg.create_task(fetch("b"))

asyncio.run(main())
`, errType: "KeyError", message: "KeyError: 'b'", function: "fetch", chain: []string{"ExceptionGroup"}},
		{name: "TaskGroup, two tasks fail", src: `import asyncio

def parse(x):
    return int(x)  # CRASH

async def fetch(x):
    await asyncio.sleep(0)
    return parse(x)

async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch("a"))
        tg.create_task(fetch("b"))

asyncio.run(main())
`, errType: "ValueError", message: "ValueError: invalid literal for int() with base 10: 'a'", function: "parse", chain: []string{"ExceptionGroup"}},
		{name: "group raised with no sub-tracebacks, nested", src: `def validate(order):
    raise ExceptionGroup("bad order", [ValueError("qty"), ExceptionGroup("inner", [TypeError("sku")])])  # CRASH

def handle():
    try:
        validate({})
    except* KeyError:
        pass

handle()
`, errType: "ExceptionGroup", message: "ExceptionGroup: bad order (2 sub-exceptions)", function: "validate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "prog.py"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			stderr := othersRun(t, dir, "python3", "prog.py")
			if !strings.Contains(stderr, "Exception Group Traceback") {
				t.Skipf("python3 prints no exception groups (older than 3.11):\n%s", stderr)
			}
			tr := othersCheckOneBlock(t, Python{}, stderr)
			if tr.ErrorType != tc.errType || tr.Message != tc.message {
				t.Errorf("got %q / %q, want %q / %q", tr.ErrorType, tr.Message, tc.errType, tc.message)
			}
			top := othersTopApp(t, tr)
			want := othersCrashLine(t, tc.src, "# CRASH")
			if top.Function != tc.function || !strings.HasSuffix(top.Path, "/prog.py") || top.Line != want {
				t.Errorf("top frame %+v, want %s prog.py:%d", top, tc.function, want)
			}
			if got := othersChainTypes(tr); strings.Join(got, ",") != strings.Join(tc.chain, ",") {
				t.Errorf("chain %v, want %v", got, tc.chain)
			}
			if len(tr.Problems) > 0 {
				t.Errorf("problems %v", tr.Problems)
			}
		})
	}
}
