package llm

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

type redactionCase struct {
	line    int
	in, out string
}

// readRedactionCorpus reads testdata/redaction.txt: "in:  " lines each
// followed by an "out: " line (both prefixes are five characters wide).
func readRedactionCorpus(t *testing.T) []redactionCase {
	t.Helper()
	f, err := os.Open("testdata/redaction.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []redactionCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "in:  "):
			cases = append(cases, redactionCase{line: n, in: l[5:]})
		case strings.HasPrefix(l, "out: "):
			if len(cases) == 0 || cases[len(cases)-1].out != "" {
				t.Fatalf("redaction.txt:%d: out: without a preceding in:", n)
			}
			cases[len(cases)-1].out = l[5:]
		case l == "" || strings.HasPrefix(l, "#"):
		default:
			t.Fatalf("redaction.txt:%d: unexpected line %q", n, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestRedactCorpus(t *testing.T) {
	cases := readRedactionCorpus(t)
	if len(cases) < 40 {
		t.Fatalf("corpus has %d cases, expected the full corpus", len(cases))
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.out {
			t.Errorf("redaction.txt:%d:\n in:  %s\n got: %s\n want %s", c.line, c.in, got, c.out)
		}
	}
	t.Logf("%d redaction rules, %d corpus cases", len(RedactionRules()), len(cases))
}

// Redact must be idempotent and work line by line: apply.go matches the
// answer's context lines against each source line redacted on its own.
func TestRedactIsLineLocalAndIdempotent(t *testing.T) {
	cases := readRedactionCorpus(t)
	var all []string
	for _, c := range cases {
		if got := Redact(c.out); got != c.out {
			t.Errorf("redaction.txt:%d: not idempotent: %q -> %q", c.line, c.out, got)
		}
		all = append(all, c.in)
	}
	joined := Redact(strings.Join(all, "\n"))
	for i, l := range strings.Split(joined, "\n") {
		if l != cases[i].out {
			t.Errorf("redaction.txt:%d: redacted inside a larger text gives %q, want %q", cases[i].line, l, cases[i].out)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("token=abc user@example.com 10.0.0.1 4111 1111 1111 1111")
	f.Add("Bearer eyJa.eyJb.c ::ffff:1.2.3.4 +1 415 555 0100")
	f.Fuzz(func(t *testing.T, s string) {
		r := Redact(s)
		if strings.Count(r, "\n") != strings.Count(s, "\n") {
			t.Fatalf("redaction changed the number of lines: %q -> %q", s, r)
		}
	})
}
