package scenario

import "fmt"

// Expect is expect.json: what `faultline check` must report for the
// scenario. The generator computes it from the markers and the shas.
type Expect struct {
	Scenario        string             `json:"scenario"`
	Service         string             `json:"service"`
	Env             string             `json:"env"`
	Language        string             `json:"language"`
	DeployedVersion string             `json:"deployed_version"`
	DeployedCommit  string             `json:"deployed_commit"` // full sha
	Head            string             `json:"head"`            // full sha of HEAD
	Incidents       []ExpectedIncident `json:"incidents"`
}

// ExpectedIncident is one error the check must find.
type ExpectedIncident struct {
	ID string `json:"id,omitempty"`
	// File and Line are where the buggy statement is in the working tree
	// (HEAD plus worktree.txtar, if any): repo-relative, 1-based.
	File string `json:"file"`
	Line int    `json:"line"`
	// CommittedLine is the line in the HEAD commit; it differs from Line
	// only when the working tree has uncommitted edits above it.
	CommittedLine int `json:"committed_line"`
	Column        int `json:"column,omitempty"` // when the runtime prints one and the line is unchanged
	// DeployedFile and DeployedLine are where the statement was in the
	// deployed commit: the line the production trace names.
	DeployedFile string `json:"deployed_file"`
	DeployedLine int    `json:"deployed_line"`
	// Culprit is the commit that introduced the statement; nil when the
	// error is not caused by a code change (infrastructure).
	Culprit       *ExpectedCommit `json:"culprit"`
	ErrorType     string          `json:"error_type"`
	Fixable       bool            `json:"fixable"`
	Category      string          `json:"category,omitempty"`
	Count         int             `json:"count"` // runs that crashed with it
	Regression    []string        `json:"regression,omitempty"`
	RegressionDir string          `json:"regression_dir,omitempty"`
	// RegressionNeedsNetwork: see IncidentSpec.
	RegressionNeedsNetwork bool `json:"regression_needs_network,omitempty"`
}

// ExpectedCommit names a commit.
type ExpectedCommit struct {
	ID      string `json:"id"` // archive name
	SHA     string `json:"sha"`
	Subject string `json:"subject"`
	Author  string `json:"author"`
}

// IntroducedBy returns the first commit whose tree holds the marker id: the
// commit that introduced the buggy statement.
func (s *Scenario) IntroducedBy(id string) (Commit, error) {
	for _, c := range s.Commits {
		tree, err := s.TreeAt(c.ID, true)
		if err != nil {
			return Commit{}, err
		}
		if _, ok := MarkerFor(tree, id); ok {
			return c, nil
		}
	}
	return Commit{}, fmt.Errorf("scenario %s: no commit holds marker %q", s.Name, id)
}

// ComputeExpect derives the expectations that follow from the source alone
// (locations, culprit); Count and Column come from the generated logs.
func (s *Scenario) ComputeExpect(shas map[string]string) (*Expect, error) {
	dep := s.Deployed()
	e := &Expect{
		Scenario: s.Name, Service: s.Meta.Service, Env: s.Meta.Env, Language: s.Meta.Language,
		DeployedVersion: dep.VersionOf(shas), DeployedCommit: shas[dep.Commit],
		Head: shas[s.Commits[len(s.Commits)-1].ID],
	}
	deployed, err := s.TreeAt(dep.Commit, true)
	if err != nil {
		return nil, err
	}
	head, err := s.TreeAt("", true)
	if err != nil {
		return nil, err
	}
	work, err := s.WorkingTree(true)
	if err != nil {
		return nil, err
	}
	for _, spec := range s.Meta.Incidents {
		ei, err := s.expectIncident(spec, shas, deployed, head, work)
		if err != nil {
			return nil, err
		}
		e.Incidents = append(e.Incidents, ei)
	}
	return e, nil
}

func (s *Scenario) expectIncident(spec IncidentSpec, shas map[string]string, deployed, head, work map[string][]byte) (ExpectedIncident, error) {
	ei := ExpectedIncident{ID: spec.ID, ErrorType: spec.ErrorType, Fixable: spec.Fixable, Category: spec.Category,
		Regression: spec.Regression, RegressionDir: spec.RegressionDir, RegressionNeedsNetwork: spec.RegressionNeedsNetwork}
	dm, ok := MarkerFor(deployed, spec.ID)
	if !ok {
		return ei, fmt.Errorf("scenario %s: marker %q missing at the deployed commit", s.Name, spec.ID)
	}
	hm, ok1 := MarkerFor(head, spec.ID)
	wm, ok2 := MarkerFor(work, spec.ID)
	if !ok1 || !ok2 {
		return ei, fmt.Errorf("scenario %s: marker %q missing at HEAD", s.Name, spec.ID)
	}
	ei.DeployedFile, ei.DeployedLine = dm.File, dm.Line
	ei.File, ei.Line, ei.CommittedLine = wm.File, wm.Line, hm.Line
	if spec.Fixable {
		c, err := s.IntroducedBy(spec.ID)
		if err != nil {
			return ei, err
		}
		ei.Culprit = &ExpectedCommit{ID: c.ID, SHA: shas[c.ID], Subject: c.Subject, Author: c.Author}
	}
	return ei, nil
}
