package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
)

func TestFixTargets(t *testing.T) {
	fixable := func(count int) incident.Incident {
		return incident.Incident{Count: count, Location: &incident.Location{File: "a.go", Line: 1},
			RootCause: &incident.RootCause{Fixable: true}}
	}
	notFixable := fixable(100)
	notFixable.RootCause.Fixable = false
	unplaced := fixable(90)
	unplaced.Location = nil
	incs := []incident.Incident{fixable(3), notFixable, fixable(7), unplaced, fixable(5), fixable(7)}
	for _, tc := range []struct {
		max      int
		want     []int
		wantLeft int
	}{
		{max: 20, want: []int{2, 5, 4, 0}},
		{max: 2, want: []int{2, 5}, wantLeft: 2}, // ties keep log order
		{max: 0, want: nil, wantLeft: 4},
		{max: -1, want: nil, wantLeft: 4},
	} {
		got, left := fixTargets(incs, tc.max)
		if !slices.Equal(got, tc.want) || left != tc.wantLeft {
			t.Errorf("fixTargets(max %d) = %v, %d left; want %v, %d", tc.max, got, left, tc.want, tc.wantLeft)
		}
	}
}

// TestCheckMaxFixes runs check on the demo scenario, whose two incidents
// have validated rule fixes: --max-fixes 1 proposes one for the more
// frequent, 0 none, and stderr says what was left out.
func TestCheckMaxFixes(t *testing.T) {
	s, err := scenario.Load(faultline.Scenarios, "testdata/scenarios/demo")
	if err != nil {
		t.Fatal(err)
	}
	made, err := s.Make(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--repo", made.Repo, "--logs", made.Logs, "--deploys", made.Deploys}
	if incs := checkArgs(t, "demo", args...); len(incs) == 0 || len(incs[0].Fixes) == 0 {
		t.Fatalf("demo without --max-fixes: %d incidents, want one with a fix", len(incs))
	}
	for _, tc := range []struct {
		max        string
		withFixes  int
		wantStderr string
	}{
		{"1", 1, "fixes proposed for the 1 most frequent incidents fixable by code, not for 1 more"},
		{"0", 0, "no fixes proposed (--max-fixes 0) for 2 incidents fixable by code"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"check", "--format", "json", "--max-fixes", tc.max}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("check exited %d: %s", code, stderr.String())
		}
		var out struct {
			Incidents []incident.Incident `json:"incidents"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, inc := range out.Incidents {
			if len(inc.Fixes) == 0 {
				continue
			}
			n++
			for _, other := range out.Incidents {
				if len(other.Fixes) == 0 && other.RootCause != nil && other.RootCause.Fixable && other.Count > inc.Count {
					t.Errorf("--max-fixes %s: a fix for an incident seen %dx, none for one seen %dx", tc.max, inc.Count, other.Count)
				}
			}
		}
		if n != tc.withFixes || !strings.Contains(stderr.String(), tc.wantStderr) {
			t.Errorf("--max-fixes %s: %d incidents with fixes, stderr %q; want %d and %q", tc.max, n, stderr.String(), tc.withFixes, tc.wantStderr)
		}
	}
}
