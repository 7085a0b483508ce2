package pullrequest

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(dir)
	out, err := cmd.Output()
	return string(out), err
}

// outsideFences returns the Markdown of body that is not inside a fenced
// code block (CommonMark: a fence closes on a line of at least as many
// backticks), with inline code spans removed. That is the text GitHub
// interprets.
func outsideFences(body string) string {
	var out strings.Builder
	open := 0
	for _, line := range strings.Split(body, "\n") {
		run := len(line) - len(strings.TrimLeft(line, "`"))
		switch {
		case open == 0 && run >= 3:
			open = run
		case open > 0 && run >= open && strings.TrimSpace(line) == strings.Repeat("`", run):
			open = 0
		case open == 0:
			out.WriteString(stripCodeSpans(line) + "\n")
		}
	}
	return out.String()
}

func stripCodeSpans(line string) string {
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			return line
		}
		n := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
		fence := strings.Repeat("`", n)
		j := strings.Index(line[i+n:], fence)
		if j < 0 {
			return line
		}
		line = line[:i] + line[i+n+j+n:]
	}
}

// checkInert fails when log-derived hostile text could render: raw HTML,
// a javascript: link, a live @mention, or a control character.
func checkInert(t *testing.T, body string) {
	t.Helper()
	live := outsideFences(body)
	for _, bad := range []string{"<img", "<script", "</details", "](javascript", "[click]", "@octocat"} {
		if strings.Contains(live, bad) {
			t.Errorf("PR body renders hostile %q outside code:\n%s", bad, live)
		}
	}
	if strings.ContainsAny(body, "\x1b\x07\r") {
		t.Errorf("PR body keeps control characters: %q", body)
	}
}

func TestPRBodyGolden(t *testing.T) {
	sc := loadScenario(t)
	fix := incident.Fix{Title: "Guard the division by zero", Diff: sc.fix, Validated: true, Source: "rule:go-divide-by-zero"}
	got := prBody(sc.inc, fix, incidentURL)
	checkInert(t, got)
	golden := filepath.Join("testdata", "body.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("PR body differs from %s (run go test -update to accept):\n%s", golden, got)
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct {
		name, in string
		render   func(string) string
		want     string
	}{
		{"html becomes entities", "<img src=x onerror=alert(1)>", mdText, `&lt;img src=x onerror=alert\(1\)&gt;`},
		{"link syntax escaped", "[click](javascript:alert(1))", mdText, `\[click\]\(javascript:alert\(1\)\)`},
		{"mention broken", "ping @octocat", mdText, "ping @<!-- -->octocat"},
		{"emphasis and code escaped", "*bold* _it_ `x`", mdText, "\\*bold\\* \\_it\\_ \\`x\\`"},
		{"list marker at start escaped", "- item", mdText, `\- item`},
		{"ordered list marker escaped", "12. item 3.5", mdText, `12\. item 3.5`},
		{"control chars and newlines dropped", "a\x1b[31mred\x1b[0m\x07\nb", mdText, "ared b"},
		{"code span outgrows backticks", "a ``b`` c", mdCode, "```a ``b`` c```"},
		{"fence outgrows content fence", "x\n````\ny", func(s string) string { return mdFence("text", s) }, "`````text\nx\n````\ny\n`````\n"},
		{"javascript link dropped", "javascript:alert(1)", safeLink, ""},
		{"parens encoded in link", "https://f.example/i/(1) x", safeLink, "https://f.example/i/%281%29%20x"},
		{"credentials dropped from link", "https://user:pw@f.example/i", safeLink, "https://f.example/i"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.render(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSubjectAndBranchName(t *testing.T) {
	tests := []struct {
		id, errType, file string
		wantSubject       string
		wantRef           string
	}{
		{"3f9a1c2e7b", "KeyError", "app/views.py", "fix: KeyError in app/views.py (faultline incident 3f9a1c2e7b)", "3f9a1c2e7b"},
		{"a/b c..d.lock", "", "", "fix: production error (faultline incident a/b c..d.lock)", "a-b-c.d"},
		{"../../x~^:?*[", "TypeError\x1b[31m\n", "", "fix: TypeError (faultline incident ../../x~^:?*[)", "x"},
		{strings.Repeat("f", 100), strings.Repeat("E", 200), "x.go", "", strings.Repeat("f", 64)},
	}
	for _, tt := range tests {
		inc := incident.Incident{ID: tt.id, ErrorType: tt.errType}
		if tt.file != "" {
			inc.Location = &incident.Location{File: tt.file}
		}
		got := subject(inc)
		if tt.wantSubject != "" && got != tt.wantSubject {
			t.Errorf("subject(%q) = %q, want %q", tt.id, got, tt.wantSubject)
		}
		if len(got) > maxTitle+len("…") {
			t.Errorf("subject too long (%d): %q", len(got), got)
		}
		if r := refSafe(tt.id); r != tt.wantRef {
			t.Errorf("refSafe(%q) = %q, want %q", tt.id, r, tt.wantRef)
		}
	}
}
