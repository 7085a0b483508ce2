package main

import (
	"context"
	"testing"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/internal/scenario"
)

// madeScenario is a crash scenario made real in a temp dir: its repository
// with the history that introduced the bug, and its logs and deploys.
type madeScenario struct {
	s                        *scenario.Scenario
	dir, repo, logs, deploys string
}

// makeScenario materializes the embedded scenario name for one test.
func makeScenario(t *testing.T, name string) madeScenario {
	t.Helper()
	s, err := scenario.Load(faultline.Scenarios, "testdata/scenarios/"+name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	made, err := s.Make(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return madeScenario{s: s, dir: dir, repo: made.Repo, logs: made.Logs, deploys: made.Deploys}
}
