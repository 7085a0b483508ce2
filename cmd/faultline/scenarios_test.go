package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/scenario"
)

// TestScenarios runs `faultline check --format json` on every crash scenario
// under testdata/scenarios (real programs really crashed, their output
// stored as Loki lines among noise, repositories whose lines moved after the
// deploy) and measures what the issue asks: the right file for every
// incident, the right line at HEAD for at least 90%, the culprit commit for
// at least 80%, and every not-fixable case marked so.
func TestScenarios(t *testing.T) {
	all, err := scenario.LoadAll(faultline.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	var total, fileOK, lineOK, culpritTotal, culpritOK, notFixable, notFixableOK, countOK int
	var columnTotal, columnOK int // where the runtime prints a column (V8)
	var extra int                 // incidents reported besides the expected ones
	var table strings.Builder
	fmt.Fprintf(&table, "%-28s %-34s %-5s %-5s %-7s %-7s\n", "scenario", "expected", "file", "line", "culprit", "fixable")
	for _, s := range all {
		if s.Expect == nil {
			t.Errorf("%s: no expect.json (run go run ./internal/scenario/gen)", s.Name)
			continue
		}
		got := checkScenario(t, s)
		matched := map[*incident.Incident]bool{}
		for _, want := range s.Expect.Incidents {
			total++
			inc := matchIncident(got, want)
			matched[inc] = true
			var f, l, c, fx bool
			if inc != nil && inc.Location != nil {
				f = inc.Location.File == want.File
				l = f && inc.Location.Line == want.Line
				if want.DeployedCommitMissing {
					// Nothing to carry the line through: it must be
					// marked as not carried, and be the printed line
					// only where that is HEAD's too.
					l = f && inc.Location.Status == "unknown" &&
						(want.Line != want.DeployedLine || inc.Location.Line == want.Line)
				}
				if want.AbsentAtHead {
					// HEAD is older than the deploy: any line claimed as
					// the statement's would be another statement.
					l = f && inc.Location.Status != "unchanged" && inc.Location.Status != "moved"
				}
			}
			if inc != nil && inc.Count == want.Count {
				countOK++
			} else if inc != nil {
				t.Logf("%s: count %d, generator's %d", s.Name, inc.Count, want.Count)
			}
			if want.Column > 0 {
				columnTotal++
				if l && inc.Location.Column == want.Column {
					columnOK++
				} else if l {
					t.Logf("%s: column %d, want %d", s.Name, inc.Location.Column, want.Column)
				}
			}
			if want.NoCulprit {
				// The culprit's history is not in the clone: naming a
				// commit would name the one the clone starts at.
				culpritTotal++
				if inc != nil && inc.RootCause != nil && inc.RootCause.SuspectCommit == nil {
					c = true
					culpritOK++
				}
			}
			if want.Culprit != nil {
				culpritTotal++
				if inc != nil && inc.RootCause != nil && inc.RootCause.SuspectCommit != nil &&
					inc.RootCause.SuspectCommit.SHA == want.Culprit.SHA {
					c = true
					culpritOK++
				}
			}
			if inc != nil && inc.RootCause != nil {
				fx = inc.RootCause.Fixable == want.Fixable
			}
			if !want.Fixable {
				notFixable++
				if fx {
					notFixableOK++
				}
			}
			if f {
				fileOK++
			}
			if l {
				lineOK++
			}
			fmt.Fprintf(&table, "%-28s %-34s %-5v %-5v %-7s %-7v\n", s.Name,
				fmt.Sprintf("%s:%d", want.File, want.Line), f, l, culpritMark(want, c), fx)
			if !f || !l || ((want.Culprit != nil || want.NoCulprit) && !c) || !fx {
				t.Logf("%s: want %s:%d culprit=%v fixable=%v; got %s", s.Name, want.File, want.Line,
					culpritSubject(want), want.Fixable, describe(inc))
			}
		}
		// What the runs printed besides their crashes (handled errors,
		// warnings, diagnostics) may be an incident of its own, but never a
		// fixable one in the code: that would send a developer to a line
		// where nothing is wrong.
		for i := range got {
			if inc := &got[i]; !matched[inc] {
				extra++
				t.Logf("%s: also reported %s", s.Name, describe(inc))
				if inc.Location != nil && inc.RootCause != nil && inc.RootCause.Fixable {
					t.Errorf("%s: a fixable incident no run was meant to raise: %s", s.Name, describe(inc))
				}
			}
		}
	}
	t.Logf("\n%s", table.String())
	t.Logf("incidents %d: file %d/%d, line at HEAD %d/%d, culprit %d/%d, not-fixable marked %d/%d, count exact %d/%d, column %d/%d; %d more reported",
		total, fileOK, total, lineOK, total, culpritOK, culpritTotal, notFixableOK, notFixable, countOK, total, columnOK, columnTotal, extra)
	if total == 0 {
		t.Fatal("no scenarios")
	}
	if fileOK != total {
		t.Errorf("right file for %d of %d incidents, want all", fileOK, total)
	}
	if lineOK*10 < total*9 {
		t.Errorf("right line at HEAD for %d of %d incidents, want at least 90%%", lineOK, total)
	}
	if culpritOK*10 < culpritTotal*8 {
		t.Errorf("culprit commit for %d of %d incidents, want at least 80%%", culpritOK, culpritTotal)
	}
	if notFixableOK != notFixable {
		t.Errorf("not-fixable cases marked for %d of %d, want all", notFixableOK, notFixable)
	}
	if columnOK != columnTotal {
		t.Errorf("the runtime's column kept for %d of %d incidents whose line only moved, want all", columnOK, columnTotal)
	}
}

// checkScenario materialises a scenario and runs the check command on it in
// process, through the same flags a user types.
func checkScenario(t *testing.T, s *scenario.Scenario) []incident.Incident {
	t.Helper()
	made, err := s.Make(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return checkFiles(t, s.Name, made.Repo, made.Logs, made.Deploys)
}

// checkFiles runs `faultline check --format json` on a repository, logs
// and deploys.
func checkFiles(t *testing.T, name, repo, logs, deploys string) []incident.Incident {
	t.Helper()
	return checkArgs(t, name, "--repo", repo, "--logs", logs, "--deploys", deploys)
}

// matchIncident finds the reported incident for an expected one: same error
// class, preferring the one at the expected file.
func matchIncident(got []incident.Incident, want scenario.ExpectedIncident) *incident.Incident {
	var best *incident.Incident
	for i := range got {
		inc := &got[i]
		text := strings.ToLower(inc.ErrorType + " " + inc.Message)
		if !strings.Contains(text, strings.ToLower(want.ErrorType)) {
			continue
		}
		if inc.Location != nil && inc.Location.File == want.File {
			if best == nil || best.Location == nil || best.Location.File != want.File || inc.Count > best.Count {
				best = inc
			}
			continue
		}
		if best == nil {
			best = inc
		}
	}
	return best
}

func culpritMark(want scenario.ExpectedIncident, ok bool) string {
	if want.Culprit == nil && !want.NoCulprit {
		return "n/a"
	}
	return fmt.Sprint(ok)
}

func culpritSubject(want scenario.ExpectedIncident) string {
	if want.Culprit == nil {
		return "none"
	}
	return fmt.Sprintf("%.7s %q", want.Culprit.SHA, want.Culprit.Subject)
}

func describe(inc *incident.Incident) string {
	if inc == nil {
		return "no matching incident"
	}
	s := fmt.Sprintf("%q", inc.ErrorType)
	if inc.Location != nil {
		s += fmt.Sprintf(" at %s:%d (%s %s)", inc.Location.File, inc.Location.Line, inc.Location.Status, inc.Location.Note)
	} else {
		s += " unmapped"
	}
	if rc := inc.RootCause; rc != nil {
		if rc.SuspectCommit != nil {
			s += fmt.Sprintf(" suspect %.7s %q", rc.SuspectCommit.SHA, rc.SuspectCommit.Summary)
		}
		s += fmt.Sprintf(" fixable=%v", rc.Fixable)
	}
	return s
}

// TestRenamedFunction renames the failing function in the working tree
// of a scenario (an uncommitted edit, as a developer does before the
// fix): the incident's location must name the function as the file now
// declares it, not as the deployed binary printed it.
func TestRenamedFunction(t *testing.T) {
	all, err := scenario.LoadAll(faultline.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name != "go-slog-text-recover" {
			continue
		}
		made, err := s.Make(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(made.Repo, "cart", "cart.go")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		renamed := strings.ReplaceAll(string(b), "Total(", "BasketTotal(")
		if err := os.WriteFile(path, []byte(renamed), 0o644); err != nil {
			t.Fatal(err)
		}
		incs := checkFiles(t, s.Name, made.Repo, made.Logs, made.Deploys)
		if len(incs) == 0 || incs[0].Location == nil {
			t.Fatal("no incident with a location")
		}
		if got, want := incs[0].Location.Function, "github.com/acme/basket/cart.BasketTotal"; got != want {
			t.Errorf("location function = %q, want %q", got, want)
		}
		return
	}
	t.Fatal("scenario go-slog-text-recover not found")
}
