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
	Culprit *ExpectedCommit `json:"culprit"`
	// NoCulprit: the culprit's history is not in the repository (a shallow
	// clone), so the check must name no suspect commit rather than the
	// commit the clone starts at.
	NoCulprit bool `json:"no_culprit,omitempty"`
	// AbsentAtHead: HEAD is older than the deployed commit and does not
	// hold the statement yet. File is the deployed file, Line and
	// CommittedLine are 0: the check must not claim a line there (its
	// status must be neither unchanged nor moved).
	AbsentAtHead bool `json:"absent_at_head,omitempty"`
	// DeployedCommitMissing: the repository lacks the deployed commit (a
	// shallow clone, a branch never fetched), so no line can be carried:
	// the check must say so (status unknown), and give the line as printed
	// only where that is HEAD's too (Line == DeployedLine).
	DeployedCommitMissing bool     `json:"deployed_commit_missing,omitempty"`
	ErrorType             string   `json:"error_type"`
	Fixable               bool     `json:"fixable"`
	Category              string   `json:"category,omitempty"`
	Count                 int      `json:"count"` // runs that crashed with it
	Regression            []string `json:"regression,omitempty"`
	RegressionDir         string   `json:"regression_dir,omitempty"`
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

// deployedCommitMissing reports whether the materialized repository lacks
// the deployed commit.
func (s *Scenario) deployedCommitMissing() bool {
	dep, head := s.Deployed().Commit, s.HeadID()
	switch {
	case dep == head:
		return false
	case s.Meta.Shallow:
		return true
	case s.Meta.HeadHistoryOnly:
		return !s.ancestors(head)[dep]
	}
	return false
}

// IntroducedBy returns the commit that introduced the buggy statement the
// deployed commit holds: of the deployed commit's ancestors whose tree
// holds the marker id and none of whose parents' does, the latest (a
// change reverted and re-applied is the re-application's; a change merged
// from a branch is the branch commit's, not the merge's; a cherry-pick the
// deploy was built from is the pick's).
func (s *Scenario) IntroducedBy(id string) (Commit, error) {
	trees, err := s.trees()
	if err != nil {
		return Commit{}, err
	}
	has := func(i int) bool { _, ok := MarkerFor(trees[i], id); return ok }
	anc := s.ancestors(s.Deployed().Commit)
	for i := len(s.Commits) - 1; i >= 0; i-- {
		if !anc[s.Commits[i].ID] || !has(i) {
			continue
		}
		introduced := true
		for _, p := range s.parents(i) {
			if has(s.commitIndex(p)) {
				introduced = false
			}
		}
		if introduced {
			return s.Commits[i], nil
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
		Head: shas[s.HeadID()],
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
	ei.DeployedFile, ei.DeployedLine = dm.File, dm.Line
	hm, ok1 := MarkerFor(head, spec.ID)
	wm, ok2 := MarkerFor(work, spec.ID)
	switch {
	case !ok1 && !ok2 && s.ancestors(s.Deployed().Commit)[s.HeadID()]:
		ei.File, ei.AbsentAtHead = dm.File, true
	case !ok1 || !ok2:
		return ei, fmt.Errorf("scenario %s: marker %q missing at HEAD", s.Name, spec.ID)
	default:
		ei.File, ei.Line, ei.CommittedLine = wm.File, wm.Line, hm.Line
	}
	ei.DeployedCommitMissing = s.deployedCommitMissing()
	if spec.Fixable {
		c, err := s.IntroducedBy(spec.ID)
		if err != nil {
			return ei, err
		}
		if ei.DeployedCommitMissing {
			ei.NoCulprit = true
			return ei, nil
		}
		ei.Culprit = &ExpectedCommit{ID: c.ID, SHA: shas[c.ID], Subject: c.Subject, Author: c.Author}
	}
	return ei, nil
}
