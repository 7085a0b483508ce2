package llm

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/answers and the golden prompt")

// sentinels maps the names used in fixtures to the errors Fix returns.
var sentinels = map[string]error{
	"ErrNoFix": ErrNoFix, "ErrNoDiff": ErrNoDiff, "ErrMalformedDiff": ErrMalformedDiff,
	"ErrUnsafePath": ErrUnsafePath, "ErrCIFile": ErrCIFile, "ErrDependency": ErrDependency,
	"ErrOtherFile": ErrOtherFile, "ErrFileOperation": ErrFileOperation,
	"ErrDoesNotApply": ErrDoesNotApply, "ErrPlaceholder": ErrPlaceholder,
}

// testRoot writes a small repository: a go.mod that requires one module and
// the cart source. Cases may override the file and its content.
func testRoot(t *testing.T, file string, src []byte) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte("module example.com/shop\n\ngo 1.22\n\nrequire github.com/acme/money v1.2.0\n"))
	write("app/helpers.py", []byte("def first(xs):\n    return xs[0]\n"))
	write(file, src)
	return root
}

func cartSource(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/cart.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestCheckAnswer runs every archive in testdata/answers: the model's answer,
// optionally a file and source, and either "error ErrX" or the diff the
// fixer must hand out (golden, rewritten with -update).
func TestCheckAnswer(t *testing.T) {
	paths, err := filepath.Glob("testdata/answers/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sec := map[string]string{}
			for _, f := range ar.Files {
				sec[f.Name] = string(f.Data)
			}
			file, src := "cart/cart.go", cartSource(t)
			if f, ok := sec["file"]; ok {
				file, src = strings.TrimSpace(f), []byte(sec["source"])
			}
			if _, ok := sec["noeol"]; ok { // txtar cannot hold a file without a final newline
				src = []byte(strings.TrimSuffix(string(src), "\n"))
			}
			in := Input{File: file, Source: src, Root: testRoot(t, file, src)}
			diff, err := checkAnswer(in, sec["answer"])
			want := sec["want"]
			if name, isErr := strings.CutPrefix(strings.TrimSpace(want), "error "); isErr {
				if !errors.Is(err, sentinels[name]) {
					t.Fatalf("got err %v (diff %q), want %s", err, diff, name)
				}
				return
			}
			if err != nil {
				t.Fatalf("answer rejected: %v", err)
			}
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(diff)
					}
				}
				if err := os.WriteFile(p, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff != want {
				t.Errorf("diff:\n%s\nwant:\n%s", diff, want)
			}
			gitApplyCheck(t, in, diff)
		})
	}
}

// gitApplyCheck proves the contract that the diff is one `git apply`
// accepts at the repository root.
func gitApplyCheck(t *testing.T, in Input, diff string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Log("git not installed; skipping git apply --check")
		return
	}
	cmd := exec.Command("git", "apply", "--check", "-")
	cmd.Dir = in.Root
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("git apply --check: %v\n%s\n%s", err, out, diff)
	}
}

func TestRenderedDiffAppliesAtTrueLines(t *testing.T) {
	src := cartSource(t)
	answer := "--- a/cart/cart.go\n+++ b/cart/cart.go\n@@ -99,2 +99,3 @@\n \treturn sum\n+\t// checked\n }\n"
	diff, err := checkAnswer(Input{File: "cart/cart.go", Source: src}, answer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, "@@ -15,6 +15,7 @@") {
		t.Errorf("hunk not moved to the true lines 15-20:\n%s", diff)
	}
}

// FuzzCheckAnswer feeds arbitrary answers: bad input is rejected with an
// error, never a panic, and an accepted diff only ever names the one file.
func FuzzCheckAnswer(f *testing.F) {
	paths, _ := filepath.Glob("testdata/answers/*.txtar")
	for _, p := range paths {
		if ar, err := txtar.ParseFile(p); err == nil {
			for _, file := range ar.Files {
				if file.Name == "answer" {
					f.Add(string(file.Data))
				}
			}
		}
	}
	src, err := os.ReadFile("testdata/cart.go.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		diff, err := checkAnswer(Input{File: "cart/cart.go", Source: src}, answer)
		if err != nil {
			return
		}
		header, _, _ := strings.Cut(diff, "\n@@")
		for _, l := range strings.Split(header, "\n") {
			if (strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ")) && !strings.HasSuffix(l, "/cart/cart.go") {
				t.Fatalf("accepted diff names another file: %q", l)
			}
		}
	})
}
