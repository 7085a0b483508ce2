package codeactions

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/incident"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/rules/*.txtar")

const noFix = "no fix\n"

// TestRules runs every rule on each case in testdata/rules: a txtar whose
// comment describes the incident (language, error_type, message, path,
// line, fixable), whose files are the crashing file and its package, and
// whose "want" section is the golden result: the rule and title on the
// first line, then the fixed file, or "no fix".
func TestRules(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in := caseInput(t, ar)
			got := noFix
			if chs := Propose(Fixers, in); len(chs) > 0 {
				got = chs[0].Rule + ": " + chs[0].Title + "\n" + string(chs[0].Content)
			}
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					wantIdx = i
				}
			}
			if wantIdx < 0 {
				t.Fatal("no want section")
			}
			if *update {
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("fix differs from the golden file (go test -update to accept)\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// caseInput builds the rule input from a case archive.
func caseInput(t *testing.T, ar *txtar.Archive) Input {
	t.Helper()
	meta := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(ar.Comment))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			meta[k] = v
		}
	}
	line, err := strconv.Atoi(meta["line"])
	if err != nil {
		t.Fatalf("line: %v", err)
	}
	inc := incident.Incident{
		ID: "case", Language: meta["language"], ErrorType: meta["error_type"], Message: meta["message"],
		Location:  &incident.Location{File: meta["path"], Line: line},
		RootCause: &incident.RootCause{Fixable: meta["fixable"] == "true"},
	}
	dir := fstest.MapFS{}
	var content []byte
	for _, f := range ar.Files {
		switch {
		case f.Name == meta["path"]:
			content = f.Data
		case path.Dir(f.Name) == path.Dir(meta["path"]):
			dir[path.Base(f.Name)] = &fstest.MapFile{Data: f.Data}
		}
	}
	if content == nil {
		t.Fatalf("no file %s in the archive", meta["path"])
	}
	dir[path.Base(meta["path"])] = &fstest.MapFile{Data: content}
	return Input{Incident: inc, Path: meta["path"], Line: line, Content: content, Dir: dir, GoVersion: meta["go"]}
}

// TestRulesRefuseOtherClasses checks that each rule answers
// ErrNotApplicable, not a wrong fix, for an error of another class.
func TestRulesRefuseOtherClasses(t *testing.T) {
	src := []byte("package p\n\nfunc f(xs []int, m map[string]int, p *int) int {\n\treturn xs[1] / *p\n}\n")
	in := Input{
		Incident: incident.Incident{Language: "go", ErrorType: "connection refused", Message: "dial tcp 127.0.0.1:5432: connect: connection refused",
			RootCause: &incident.RootCause{Fixable: true}},
		Path: "p/p.go", Line: 4, Content: src,
	}
	for _, f := range Fixers {
		if _, err := f.Fix(in); !errors.Is(err, ErrNotApplicable) {
			t.Errorf("%s on a connection error: err = %v, want ErrNotApplicable", f.Name(), err)
		}
	}
}
