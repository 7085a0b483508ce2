package stack

import (
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// Fuzz targets for the Java, Python and Node parsers: whatever the input,
// Start, Continue, Detect and Parse return without panicking, and Parse
// keeps its promises (no negative positions, a language set). Seeds live in
// testdata/fuzz/Fuzz*/ (real traces) and below.

func othersFuzz(f *testing.F, p Parser, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		lines := strings.Split(input, "\n")
		for _, b := range othersBlocks(p, lines) {
			othersCheckTrace(t, p, p.Parse(b))
		}
		p.Detect(lines)
		othersCheckTrace(t, p, p.Parse(lines))
	})
}

func othersCheckTrace(t *testing.T, p Parser, tr incident.Trace) {
	if tr.Language != p.Language() {
		t.Fatalf("language %q, want %q", tr.Language, p.Language())
	}
	for _, fr := range tr.Frames {
		if fr.Line < 0 || fr.Column < 0 {
			t.Fatalf("negative position in %+v", fr)
		}
	}
	for _, c := range tr.Chain {
		othersCheckTrace(t, p, c)
	}
}

func FuzzJava(f *testing.F) {
	othersFuzz(f, Java{},
		"Exception in thread \"main\" java.lang.RuntimeException: x\n\tat a.B.c(B.java:1)\nCaused by: java.lang.Error\n\t... 3 more",
		"java.lang.X: y\n\tSuppressed: a.BException\n\t\t... 1 more\n\tCaused by: c.DError: z\n\t\tat (\n",
		"\tat java.base/(:)\n\tat app//x.y(Z.kt:-1)\n\t... more")
}

func FuzzPython(f *testing.F) {
	othersFuzz(f, Python{},
		"Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\n    x\nKeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"<frozen x>\", line 2\nE",
		`Traceback (most recent call last):\n  File "a", line \nX`,
		"  File \"\", line 99999999999999999999, in \n.:",
		"  + Exception Group Traceback (most recent call last):\n  |   File \"/a.py\", line 1, in m\n  | ExceptionGroup: e (1 sub-exception)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent call last):\n    |   File \"/b.py\", line 2, in f\n    |\n    | KeyError: 'b'\n    +------------------------------------",
		"+ Exception Group Traceback (most recent call last):\n| Traceback (most recent call last):\n|| Traceback (most recent call last):\n+")
}

func FuzzNode(f *testing.F) {
	othersFuzz(f, Node{},
		"/a.js:1\n x\n ^\n\nTypeError: y\n    at f (/a.js:1:2) {\n  [cause]: Error: z\n      at (x:1:1)\n}\n\nNode.js v20",
		"Error [E]: x\n    at eval (eval at <anonymous> (a.js:1:1), <anonymous>:1:1)\n    at ((()))\n    at :9:",
		"[UnhandledPromiseRejection: x] {\n]\n}}\n(node:1) UnhandledPromiseRejectionWarning: \n    at a:99999999999999999999:1")
}
