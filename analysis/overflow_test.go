package analysis

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
)

// blameTimes is a Repo whose Blame dates each "path:line" (deployedFiles
// answers the rest).
type blameTimes struct {
	deployedFiles
	times map[string]time.Time
}

func (b blameTimes) Blame(_ context.Context, _, path string, line int) (incident.Commit, error) {
	t, ok := b.times[path+":"+strconv.Itoa(line)]
	if !ok {
		return incident.Commit{}, errNoGit
	}
	return incident.Commit{SHA: "c" + t.Format("0102"), Time: t}, nil
}

// parseFixture parses a runtime's real output from testdata/overflow.
func parseFixture(t *testing.T, lang, name string) incident.Trace {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "overflow", name))
	if err != nil {
		t.Fatal(err)
	}
	return stack.ByLanguage(lang).Parse(strings.Split(strings.TrimRight(string(b), "\n"), "\n"))
}

// mapped maps every non-library frame to the workspace as the file it was
// printed with (base name only), unchanged since the deploy.
func mapped(tr incident.Trace) []incident.MappedFrame {
	var out []incident.MappedFrame
	for _, f := range tr.Frames {
		mf := incident.MappedFrame{Function: f.Function, File: f.Path, Line: f.Line,
			OriginalPath: f.Path, OriginalLine: f.Line}
		if !f.Library {
			mf.File = filepath.Base(f.Path)
			mf.Mapped, mf.InApp, mf.RepoPathAtDeploy = true, true, mf.File
		}
		out = append(out, mf)
		if len(out) == maxMappedFrames {
			break
		}
	}
	return out
}

// TestOverflowLocation: a stack overflow points at the recursive call,
// the in-app line that repeats, not at the innermost frame where the last
// call ran out of stack (Go's inlined map lookup, Python's comparison,
// V8's for...of, the JVM's StringBuilder); in mutual recursion at the line
// changed last. Real runtime output.
func TestOverflowLocation(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 10, d, 9, 0, 0, 0, time.UTC) }
	javaBlame := map[string]time.Time{"Quote.java:31": day(12), "QuoteLine.java:22": day(19), "Quote.java:26": day(12)}
	for _, c := range []struct {
		lang, fixture string
		errorType     string
		times         map[string]time.Time
		drop          int    // leading frames dropped: another rotation of the cycle
		want          string // file:line at the deployed commit
	}{
		{"go", "go-elided.txt", "fatal error: stack overflow", nil, 0, "tree.go:37"},
		{"python", "python-property.txt", "RecursionError", nil, 0, "models.py:20"},
		{"node", "node-flatten.txt", "RangeError", nil, 0, "tags.js:9"},
		{"java", "java-mutual-1.txt", "java.lang.StackOverflowError", javaBlame, 0, "QuoteLine.java:22"},
		{"java", "java-mutual-2.txt", "java.lang.StackOverflowError", javaBlame, 0, "QuoteLine.java:22"},
		{"java", "java-mutual-2.txt", "java.lang.StackOverflowError", javaBlame, 1, "QuoteLine.java:22"},
		{"java", "java-mutual-3.txt", "java.lang.StackOverflowError", javaBlame, 0, "QuoteLine.java:22"},
		// Without history, the first line that recurs.
		{"java", "java-mutual-2.txt", "java.lang.StackOverflowError", map[string]time.Time{}, 0, "QuoteLine.java:22"},
		{"java", "java-mutual-2.txt", "java.lang.StackOverflowError", map[string]time.Time{}, 1, "Quote.java:31"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			tr := parseFixture(t, c.lang, c.fixture)
			tr.Frames = tr.Frames[c.drop:]
			if !strings.Contains(tr.ErrorType, c.errorType) {
				t.Fatalf("error type %q, want %q (message %q)", tr.ErrorType, c.errorType, tr.Message)
			}
			inc := &incident.Incident{Language: c.lang, ErrorType: tr.ErrorType, Message: tr.Message, Frames: mapped(tr)}
			a := New(Config{Repo: blameTimes{times: c.times}})
			i := a.locationFrame(context.Background(), inc, "dep")
			if i < 0 {
				t.Fatal("no location frame")
			}
			if got := inc.Frames[i].File + ":" + strconv.Itoa(inc.Frames[i].OriginalLine); got != c.want {
				t.Errorf("location %s, want %s", got, c.want)
			}
			// Any other error keeps the innermost in-app frame: a
			// recursive walk that fails at a leaf fails there.
			inc.ErrorType, inc.Message = "KeyError", "KeyError: 'x'"
			first := -1
			for k, f := range inc.Frames {
				if f.InApp {
					first = k
					break
				}
			}
			if got := a.locationFrame(context.Background(), inc, "dep"); got != first {
				t.Errorf("not an overflow: frame %d, want the first in-app frame %d", got, first)
			}
		})
	}
}

// TestOverflowFingerprint: the top frames of one recursion are a rotation
// of its cycle (Quote, QuoteLine, ... or QuoteLine, Quote, ...), under a
// library call or not: one bug, one fingerprint. Another cycle is another
// bug.
func TestOverflowFingerprint(t *testing.T) {
	fp := Fingerprint(parseFixture(t, "java", "java-mutual-1.txt"))
	for _, name := range []string{"java-mutual-2.txt", "java-mutual-3.txt"} {
		if got := Fingerprint(parseFixture(t, "java", name)); got != fp {
			t.Errorf("%s: fingerprint %s, want %s as java-mutual-1.txt", name, got, fp)
		}
	}
	other := parseFixture(t, "java", "java-mutual-2.txt")
	for i := range other.Frames {
		if strings.HasSuffix(other.Frames[i].Function, "Quote.toJson") {
			other.Frames[i].Function = "com.acme.quotes.Invoice.toJson"
		}
	}
	if Fingerprint(other) == fp {
		t.Error("another cycle (Invoice, QuoteLine) has the same fingerprint")
	}
}

// TestSuspectsRecursionBlamedOnce: a recursion repeats its line in every
// frame; it is named once in the reasons, and the repeats still count
// among the frames blamed, so a caller below the recursion is not
// promoted into them.
func TestSuspectsRecursionBlamedOnce(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 6, d, 9, 0, 0, 0, time.UTC) }
	frame := func(file string, line int) incident.MappedFrame {
		return incident.MappedFrame{Function: "f", File: file, Line: line, Mapped: true, InApp: true,
			RepoPathAtDeploy: file, OriginalLine: line}
	}
	inc := &incident.Incident{Language: "go", ErrorType: "fatal error: stack overflow", DeployedCommit: "dep",
		Frames: []incident.MappedFrame{frame("tree.go", 33), frame("tree.go", 37), frame("tree.go", 37),
			frame("tree.go", 37), frame("tree.go", 37), frame("main.go", 20)}}
	inc.Location = &incident.Location{File: "tree.go", Line: 37}
	a := New(Config{Repo: blameTimes{times: map[string]time.Time{"tree.go:33": day(1), "tree.go:37": day(2), "main.go:20": day(3)}}})
	var reasons []string
	for _, s := range a.suspects(context.Background(), inc, "head") {
		reasons = append(reasons, s.Reasons...)
	}
	all := strings.Join(reasons, "\n")
	if n := strings.Count(all, "tree.go:37"); n != 1 || !strings.Contains(all, "changed the line that fails (tree.go:37)") {
		t.Errorf("want tree.go:37 named once, as the line that fails:\n%s", all)
	}
	if strings.Contains(all, "main.go:20") {
		t.Errorf("the caller below the recursion is blamed in place of its repeats:\n%s", all)
	}
	if strings.Contains(all, "tree.go:33") {
		t.Errorf("the frame above the location (where the stack ran out) is blamed:\n%s", all)
	}
}
