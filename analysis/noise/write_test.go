package noise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TestAddSnooze is what the "Snooze this incident" code action relies on:
// the line it appends is read back and hides the incident until the date.
func TestAddSnooze(t *testing.T) {
	root := workspaceWith(t, "testdata/team.ignore")
	until := date("2027-01-15T00:00:00Z")
	if err := AddSnooze(root, "0badc0ffee01", until, "waiting for\nthe fix # really"); err != nil {
		t.Fatal(err)
	}
	rules, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	last := rules.Rules[len(rules.Rules)-1]
	if last.ID != "0badc0ffee01" || !last.Until.Equal(until) || last.Line != 8 || last.Reason != "waiting for the fix # really" {
		t.Errorf("appended rule = %+v", last)
	}
	inc := []incident.Incident{{ID: "0badc0ffee01"}}
	if _, hidden := Filter(inc, rules, until.Add(-time.Hour)); len(hidden) != 1 {
		t.Error("snoozed incident shown before the date")
	}
	if kept, _ := Filter(inc, rules, until); len(kept) != 1 {
		t.Error("snoozed incident still hidden on the date")
	}
}

func TestAddSnoozeCreatesFile(t *testing.T) {
	root := t.TempDir()
	if err := AddSnooze(root, "abc123", date("2027-01-15T09:30:00Z"), ""); err != nil {
		t.Fatal(err)
	}
	if err := AddSnoozeUntilVersion(root, "def456", []string{"v1.4.0", "v1.4.1"}, "fixed in next"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, ".faultline", "ignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	want := []string{"snooze abc123 until 2027-01-15T09:30:00Z", "snooze def456 until-version v1.4.0 v1.4.1 # fixed in next"}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "#") || lines[2] != want[0] || lines[3] != want[1] {
		t.Errorf("file:\n%s\nwant a header then %q", data, want)
	}
	if _, err := Load(root); err != nil {
		t.Errorf("file written by AddSnooze does not load: %v", err)
	}
}

func TestAddSnoozeRefusesWhatCannotBeReadBack(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{"", "a b", "a\nmute **", "x#y", "-x"} {
		if err := AddSnooze(root, id, date("2027-01-15T00:00:00Z"), ""); err == nil {
			t.Errorf("AddSnooze(%q) accepted", id)
		}
	}
	if err := AddSnoozeUntilVersion(root, "abc", []string{"v1 v2"}, ""); err == nil {
		t.Error("a version with a space was accepted")
	}
	if err := AddSnoozeUntilVersion(root, "abc", nil, ""); err == nil {
		t.Error("until-version without versions was accepted")
	}
	if _, err := os.Stat(filepath.Join(root, ".faultline", "ignore")); err == nil {
		t.Error("a refused snooze still wrote the file")
	}
}
