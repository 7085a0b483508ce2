package analysis

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/incident"
)

// TestInferDeployedCommit: production ran a commit nothing names (no
// deploy event, a version label no tag matches), and the checkout has
// since added a function above the failing one. The trace comes from
// really running the deployed code. The printed line now falls in the new
// function, so it cannot be the statement: the newest commit whose
// functions hold the printed lines is taken as deployed, the line carried
// from it and blamed there, and the note says it was inferred. Without the
// commit that moved it, the printed line fits and is kept as printed.
func TestInferDeployedCommit(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "rates.py"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "RATES = {'EUR': 1.0}\n\n\ndef convert(c, amount):\n    return amount\n\n\nif __name__ == '__main__':\n    convert('USD', 10)\n"
	bug := "RATES = {'EUR': 1.0}\n\n\ndef convert(c, amount):\n    rate = RATES[c]\n    return amount * rate\n\n\nif __name__ == '__main__':\n    convert('USD', 10)\n"
	helper := "def cents(v):\n    \"\"\"Round to cents.\"\"\"\n    v = v * 100\n    v = int(v + 0.5)\n    return v / 100\n\n\n"
	gitCLI(t, dir, "init", "-q", "-b", "main")
	write(base)
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qm", "rates: convert")
	write(bug)
	gitCLI(t, dir, "commit", "-qam", "rates: look the rate up")
	culprit := gitCLI(t, dir, "rev-parse", "HEAD")
	cmd := exec.Command("python3", "rates.py")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "KeyError") {
		t.Fatalf("the deployed code did not crash: %v\n%s", err, out)
	}
	trace := strings.ReplaceAll(string(out), dir+"/", "/srv/app/")

	run := func() incident.Incident {
		t.Helper()
		repo, err := gitrepo.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := pathmap.New(dir, pathmap.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		a := New(Config{Root: dir, Repo: repo, Mapper: m})
		at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		for i, l := range strings.Split(strings.TrimRight(trace, "\n"), "\n") {
			a.Add(incident.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Labels: map[string]string{"service": "rates", "version": "2026.11.20-build.7"}, Line: l})
		}
		res, err := a.Incidents(context.Background())
		if err != nil || len(res.Incidents) != 1 || res.Incidents[0].Location == nil {
			t.Fatalf("incidents = %+v, %v; want one located", res.Incidents, err)
		}
		return res.Incidents[0]
	}

	// The checkout still has the lines as they ran: kept as printed.
	if inc := run(); inc.Location.Line != 5 || inc.Location.Status != "unknown" || inc.DeployedCommit != "" {
		t.Errorf("unmoved: %s:%d (%s) deployed %q; want line 5 as printed", inc.Location.File, inc.Location.Line, inc.Location.Status, inc.DeployedCommit)
	}

	// A function added above it: line 5 is now in cents().
	write(strings.Replace(bug, "def convert", helper+"def convert", 1))
	gitCLI(t, dir, "commit", "-qam", "rates: cents helper")
	inc := run()
	loc := inc.Location
	if loc.Line != 12 || loc.Status != "moved" || inc.DeployedCommit != culprit || !strings.Contains(loc.Note, "deployed commit inferred") {
		t.Errorf("moved: %s:%d (%s) deployed %q note %q; want line 12 carried from the inferred %s", loc.File, loc.Line, loc.Status, inc.DeployedCommit, loc.Note, culprit[:7])
	}
	if s := inc.RootCause.SuspectCommit; s == nil || s.SHA != culprit {
		t.Errorf("culprit = %+v, want %s", s, culprit[:7])
	}
}
