package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TestSummaryNamesCherryPickOrigin: the note names the commit a culprit was
// cherry-picked from, and leaves the suspect's own summary (the JSON
// contract's first line of the message) as it is.
func TestSummaryNamesCherryPickOrigin(t *testing.T) {
	inc := &incident.Incident{ErrorType: "IndexError", Deploy: &incident.Deploy{Version: "v3.1.0", Time: time.Unix(0, 0)}}
	s := incident.Suspect{
		Commit:  incident.Commit{SHA: "1111111111111111111111111111111111111111", Summary: "exports: average", PickedFrom: "2222222222222222222222222222222222222222"},
		Score:   0.8,
		Reasons: []string{"shipped in deploy v3.1.0", "wrote the line that fails"},
	}
	got, _ := summarize(inc, []incident.Suspect{s})
	if !strings.Contains(got, `"exports: average" (cherry-picked from 2222222)`) {
		t.Errorf("summary = %q, want the pick's origin named", got)
	}
	if s.Summary != "exports: average" {
		t.Errorf("summarize changed the suspect's summary to %q", s.Summary)
	}
}
