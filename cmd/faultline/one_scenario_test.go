package main

import (
	"os"
	"strings"
	"testing"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/internal/scenario"
)

// TestOneScenario checks the scenarios named in FAULTLINE_SCENARIO
// (comma-separated) and logs every reported incident against the expected
// ones: a quick loop while writing a scenario, skipped otherwise.
func TestOneScenario(t *testing.T) {
	names := os.Getenv("FAULTLINE_SCENARIO")
	if names == "" {
		t.Skip("FAULTLINE_SCENARIO not set")
	}
	for _, name := range strings.Split(names, ",") {
		s, err := scenario.Load(faultline.Scenarios, "testdata/scenarios/"+name)
		if err != nil {
			t.Fatal(err)
		}
		got := checkScenario(t, s)
		for _, inc := range got {
			loc := "<none>"
			if inc.Location != nil {
				loc = inc.Location.File + ":" + itoa(inc.Location.Line) + " " + inc.Location.Status + " " + inc.Location.Note
			}
			culprit := "<none>"
			if inc.RootCause != nil && inc.RootCause.SuspectCommit != nil {
				culprit = inc.RootCause.SuspectCommit.SHA[:8]
			}
			t.Logf("%s: got %s %q at %s culprit %s count %d", name, inc.ErrorType, inc.Message, loc, culprit, inc.Count)
		}
		if s.Expect != nil {
			for _, w := range s.Expect.Incidents {
				c := ""
				if w.Culprit != nil {
					c = w.Culprit.SHA[:8]
				}
				t.Logf("%s: want %s at %s:%d culprit %s count %d", name, w.ErrorType, w.File, w.Line, c, w.Count)
			}
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
