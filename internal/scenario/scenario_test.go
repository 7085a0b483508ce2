package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

const root = "../../testdata/scenarios"

func loadAll(t *testing.T) []*Scenario {
	t.Helper()
	all, err := LoadAll(os.DirFS(root), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 15 {
		t.Fatalf("loaded %d scenarios, want at least 15", len(all))
	}
	return all
}

// TestScenarios checks each scenario end to end: it materializes to the
// same shas twice, its expect.json agrees with the markers and the shas, its
// logs and deploys are well-formed and name the deployed version, and its
// regression command fails at HEAD.
func TestScenarios(t *testing.T) {
	for _, s := range loadAll(t) {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			if s.Expect == nil {
				t.Fatalf("no %s: run go run ./internal/scenario/gen -only %s", ExpectFile, s.Name)
			}
			repo := filepath.Join(t.TempDir(), "repo")
			shas := materializeTwice(t, s, repo)
			checkExpect(t, s, shas, repo)
			checkLogs(t, s)
			checkDeploys(t, s, shas, repo)
			if !testing.Short() {
				checkRegressions(t, s, repo)
			}
		})
	}
}

func materializeTwice(t *testing.T, s *Scenario, repo string) map[string]string {
	ctx := context.Background()
	a, err := s.Materialize(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Materialize(ctx, filepath.Join(t.TempDir(), "again"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("materializing twice gave different shas:\n%v\n%v", a, b)
	}
	if len(a) != len(s.Commits) {
		t.Fatalf("got %d commits, want %d", len(a), len(s.Commits))
	}
	return a
}

func checkExpect(t *testing.T, s *Scenario, shas map[string]string, repo string) {
	want, err := s.ComputeExpect(shas)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Expect
	if got.Head != want.Head || got.DeployedCommit != want.DeployedCommit || got.DeployedVersion != want.DeployedVersion {
		t.Errorf("expect.json head/deployed = %s/%s/%s, markers and shas give %s/%s/%s",
			got.Head, got.DeployedCommit, got.DeployedVersion, want.Head, want.DeployedCommit, want.DeployedVersion)
	}
	if len(got.Incidents) != len(want.Incidents) {
		t.Fatalf("expect.json has %d incidents, scenario.json %d", len(got.Incidents), len(want.Incidents))
	}
	for i, g := range got.Incidents {
		w := want.Incidents[i]
		if g.File != w.File || g.Line != w.Line || g.CommittedLine != w.CommittedLine ||
			g.DeployedFile != w.DeployedFile || g.DeployedLine != w.DeployedLine || !reflect.DeepEqual(g.Culprit, w.Culprit) ||
			g.NoCulprit != w.NoCulprit || g.AbsentAtHead != w.AbsentAtHead || g.DeployedCommitMissing != w.DeployedCommitMissing {
			t.Errorf("incident %q: expect.json %+v disagrees with the markers: %+v", g.ID, g, w)
		}
		if g.Count < 1 {
			t.Errorf("incident %q: count %d, want >= 1", g.ID, g.Count)
		}
		if g.AbsentAtHead {
			continue // HEAD is older than the deploy: nothing to find there
		}
		if g.Fixable && g.File == g.DeployedFile && g.Line == g.DeployedLine && !g.DeployedCommitMissing {
			t.Errorf("incident %q: the buggy line does not move between the deployed commit and HEAD", g.ID)
		}
		checkMaterializedLine(t, s, repo, g)
	}
}

// checkMaterializedLine compares the expected line in the materialized
// working tree with the marked statement, and checks the marker is gone.
func checkMaterializedLine(t *testing.T, s *Scenario, repo string, in ExpectedIncident) {
	b, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(in.File)))
	if err != nil {
		t.Fatalf("incident %q: %v", in.ID, err)
	}
	lines := strings.Split(string(b), "\n")
	if in.Line > len(lines) {
		t.Fatalf("incident %q: line %d past the end of %s", in.ID, in.Line, in.File)
	}
	work, _ := s.WorkingTree(true)
	m, _ := MarkerFor(work, in.ID)
	if got := strings.TrimSpace(lines[in.Line-1]); got != m.Text {
		t.Errorf("incident %q: %s:%d is %q, want the marked statement %q", in.ID, in.File, in.Line, got, m.Text)
	}
	if strings.Contains(string(b), "CRASH") {
		t.Errorf("%s still holds a CRASH marker after materializing", in.File)
	}
}

type logEntry struct {
	Labels    map[string]string `json:"labels"`
	Line      *string           `json:"line"`
	Timestamp string            `json:"timestamp"`
}

func checkLogs(t *testing.T, s *Scenario) {
	f, err := os.Open(filepath.Join(root, s.Name, LogsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	own, n := 0, 0
	for sc.Scan() {
		n++
		var e logEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", LogsFile, n, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil || e.Line == nil {
			t.Fatalf("%s:%d: bad timestamp or no line: %s", LogsFile, n, sc.Text())
		}
		if e.Labels[s.Label("service")] == s.Meta.Service && e.Labels[s.Label("env")] == s.Meta.Env &&
			e.Labels[s.Label("version")] == s.Expect.DeployedVersion {
			own++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if own < 5 || own == n {
		t.Errorf("%s: %d of %d entries carry the service's labels %v; want crashes among noise", LogsFile, own, n, s.Labels(s.Expect.DeployedVersion))
	}
}

var (
	describeRE = regexp.MustCompile(`-g([0-9a-f]{7,40})$`)
	// an image tag sorted by build time: main-8c626c6-1795626521
	fluxRE = regexp.MustCompile(`-([0-9a-f]{7,40})-\d{9,}$`)
)

func checkDeploys(t *testing.T, s *Scenario, shas map[string]string, repo string) {
	b, err := os.ReadFile(filepath.Join(root, s.Name, DeploysFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := git.PlainOpen(repo)
	if err != nil {
		t.Fatal(err)
	}
	found, last := false, ""
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d struct{ Timestamp, Service, Env, Version, Commit string }
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("%s:%d: %v", DeploysFile, i+1, err)
		}
		if d.Service != s.Meta.Service || strings.TrimPrefix(d.Version, "v") != strings.TrimPrefix(s.Expect.DeployedVersion, "v") {
			continue
		}
		if at, err := time.Parse(time.RFC3339, d.Timestamp); err == nil && at.After(s.Meta.CrashAt) {
			continue // a later deploy reusing the label (an appVersion nobody bumps) did not run the crashes
		}
		found = true
		resolved := d.Commit
		if resolved == "" {
			if strings.HasPrefix(s.Expect.DeployedCommit, d.Version) {
				resolved = s.Expect.DeployedCommit
			} else if i := strings.LastIndexAny(d.Version, "-+._"); i >= 0 && len(d.Version)-i > 7 &&
				strings.HasPrefix(s.Expect.DeployedCommit, d.Version[i+1:]) {
				resolved = s.Expect.DeployedCommit // a build label embedding the short sha
			} else if m := describeRE.FindStringSubmatch(d.Version); m != nil && strings.HasPrefix(s.Expect.DeployedCommit, m[1]) {
				resolved = s.Expect.DeployedCommit // git describe: v2.3.0-2-gc51564a
			} else if m := fluxRE.FindStringSubmatch(d.Version); m != nil && strings.HasPrefix(s.Expect.DeployedCommit, m[1]) {
				resolved = s.Expect.DeployedCommit // an image tag main-8c626c6-1795108121
			} else {
				for _, tag := range []string{d.Version, "v" + d.Version} { // a label 3.1.0 of the tag v3.1.0
					if h, err := r.ResolveRevision(plumbing.Revision("refs/tags/" + tag)); err == nil {
						resolved = h.String()
						break
					}
				}
			}
		}
		last = resolved // the last deploy of the version before the crashes is the one that ran
	}
	if s.Deployed().NoEvent {
		// A rollout the deploy events miss: what runs is named by the
		// pods' label alone.
		if found {
			t.Errorf("%s lists the deploy of %s, which no_event says no event records", DeploysFile, s.Expect.DeployedVersion)
		}
		return
	}
	if found && last != s.Expect.DeployedCommit {
		t.Errorf("deploy of %s resolves to %q, want %s", s.Expect.DeployedVersion, last, s.Expect.DeployedCommit)
	}
	if !found {
		t.Errorf("%s has no deploy of %s", DeploysFile, s.Expect.DeployedVersion)
	}
}

func checkRegressions(t *testing.T, s *Scenario, repo string) {
	for _, in := range s.Expect.Incidents {
		if len(in.Regression) == 0 {
			if in.Fixable && !in.AbsentAtHead { // HEAD has no bug to test for
				t.Errorf("incident %q is fixable but has no regression command", in.ID)
			}
			continue
		}
		if _, err := exec.LookPath(in.Regression[0]); err != nil {
			t.Logf("skip regression of %q: %v", in.ID, err)
			continue
		}
		if in.RegressionNeedsNetwork {
			t.Logf("skip regression of %q: it installs packages from a registry", in.ID)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, in.Regression[0], in.Regression[1:]...)
		cmd.Dir = filepath.Join(repo, filepath.FromSlash(in.RegressionDir))
		// GOPROXY=off: no download, ever (a scenario vendors its modules).
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false", "GOPROXY=off", "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		cancel()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("regression %v of %q should fail at HEAD, got err=%v\n%s", in.Regression, in.ID, err, out)
		}
	}
}
