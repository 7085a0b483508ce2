package noise

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func loadIncidents(t *testing.T) []incident.Incident {
	t.Helper()
	data, err := os.ReadFile("testdata/incidents.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Incidents []incident.Incident }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Incidents
}

// workspaceWith puts the ignore file src into a fresh workspace root.
func workspaceWith(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(FileName))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestLoad(t *testing.T) {
	rules, err := Load(workspaceWith(t, "testdata/team.ignore"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Kind: KindSnooze, ID: "a1b2c3d4e5f6", Until: date("2026-12-01T00:00:00Z"), Reason: "upstream outage, INC-42", Line: 3},
		{Kind: KindSnooze, ID: "0badc0ffee00", Versions: []string{"v1.4.0", "v1.4.1"}, Reason: "fix ships in v1.4.2", Line: 4},
		{Kind: KindIgnore, ID: "5eed5eed5eed", Reason: "client disconnects, not our bug", Line: 5},
		{Kind: KindMute, Glob: "vendor/**", Line: 6},
		{Kind: KindMute, Glob: "internal/legacy/*.go", Reason: "being deleted", Line: 7},
	}
	if len(rules.Rules) != len(want) {
		t.Fatalf("got %d rules, want %d: %+v", len(rules.Rules), len(want), rules.Rules)
	}
	for i, w := range want {
		g := rules.Rules[i]
		if g.Kind != w.Kind || g.ID != w.ID || !g.Until.Equal(w.Until) || !slices.Equal(g.Versions, w.Versions) ||
			g.Glob != w.Glob || g.Reason != w.Reason || g.Line != w.Line {
			t.Errorf("rule %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestLoadMissingFileIsNoRules(t *testing.T) {
	rules, err := Load(t.TempDir())
	if err != nil || len(rules.Rules) != 0 {
		t.Fatalf("Load(empty workspace) = %+v, %v; want no rules, no error", rules, err)
	}
}

// TestLoadErrors checks that every malformed file is refused with the file
// and line of the mistake and a hint of the right form.
func TestLoadErrors(t *testing.T) {
	cases := map[string]struct {
		line int
		want string
	}{
		"bad-date":            {1, "want YYYY-MM-DD"},
		"snooze-no-until":     {4, "snooze <id> until YYYY-MM-DD"},
		"until-version-empty": {1, "until-version needs the versions"},
		"mute-absolute":       {1, "repo-relative glob"},
		"mute-bad-pattern":    {1, "bad pattern"},
		"unknown-kind":        {1, `unknown rule "hide"`},
		"ignore-two-ids":      {1, "want `ignore <incident id>`"},
		"snooze-bad-word":     {1, "want `until` or `until-version`"},
		"mute-too-many-stars": {1, "at most three **"},
	}
	files, _ := filepath.Glob("testdata/errors/*.ignore")
	if len(files) != len(cases) {
		t.Fatalf("%d files in testdata/errors, %d cases", len(files), len(cases))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".ignore")
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("no case for %s", f)
			}
			_, err := Load(workspaceWith(t, f))
			if err == nil {
				t.Fatal("Load accepted a malformed file")
			}
			where := ".faultline/ignore:" + string(rune('0'+c.line)) + ":"
			if !strings.HasPrefix(err.Error(), where) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q; want prefix %q and %q", err, where, c.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	incs := loadIncidents(t)
	rules, err := Load(workspaceWith(t, "testdata/team.ignore"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		now    time.Time
		kept   []string
		hidden map[string]int // id -> line of the rule that hid it
	}{
		{"before the snooze date", date("2026-11-20T10:00:00Z"),
			[]string{"0badc0ffee01", "99999999cccc"},
			map[string]int{"a1b2c3d4e5f6": 3, "0badc0ffee00": 4, "5eed5eed5eed": 5, "77777777aaaa": 6, "88888888bbbb": 7}},
		{"the snooze day has come", date("2026-12-01T00:00:00Z"),
			[]string{"a1b2c3d4e5f6", "0badc0ffee01", "99999999cccc"},
			map[string]int{"0badc0ffee00": 4, "5eed5eed5eed": 5, "77777777aaaa": 6, "88888888bbbb": 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kept, hidden := Filter(incs, rules, c.now)
			var keptIDs []string
			for _, k := range kept {
				keptIDs = append(keptIDs, k.ID)
			}
			if !slices.Equal(keptIDs, c.kept) {
				t.Errorf("kept %v, want %v", keptIDs, c.kept)
			}
			if len(hidden) != len(c.hidden) {
				t.Errorf("hid %d incidents, want %d", len(hidden), len(c.hidden))
			}
			for _, h := range hidden {
				if line, ok := c.hidden[h.Incident.ID]; !ok || h.Rule.Line != line {
					t.Errorf("%s hidden by line %d (%s), want line %d", h.Incident.ID, h.Rule.Line, h.Why, line)
				}
				if !strings.Contains(h.Why, h.Rule.Where()) {
					t.Errorf("Why %q does not name %s", h.Why, h.Rule.Where())
				}
			}
			if got, want := Summary(hidden), "hidden by .faultline/ignore"; !strings.HasSuffix(got, want) {
				t.Errorf("Summary = %q", got)
			}
		})
	}
}

// TestSnoozeUntilVersion: the incident comes back when it occurs in a
// version the snooze did not list.
func TestSnoozeUntilVersion(t *testing.T) {
	rules := Rules{Rules: []Rule{{Kind: KindSnooze, ID: "x", Versions: []string{"v1"}, Line: 1}}}
	for _, c := range []struct {
		versions []string
		hidden   bool
	}{
		{[]string{"v1"}, true},
		{[]string{}, true},
		{[]string{"v1", "v2"}, false},
		{[]string{"v2"}, false},
	} {
		_, hidden := Filter([]incident.Incident{{ID: "x", Versions: c.versions}}, rules, time.Now())
		if (len(hidden) == 1) != c.hidden {
			t.Errorf("versions %v: hidden=%v, want %v", c.versions, len(hidden) == 1, c.hidden)
		}
	}
}

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		glob, file string
		want       bool
	}{
		{"vendor/**", "vendor/a/b/c.go", true},
		{"vendor/**", "vendor", true},
		{"vendor/**", "src/vendor/a.go", false},
		{"**/vendor/**", "src/vendor/a.go", true},
		{"internal/legacy/*.go", "internal/legacy/a.go", true},
		{"internal/legacy/*.go", "internal/legacy/sub/a.go", false},
		{"internal/legacy/*.go", "internal/legacy/a.py", false},
		{"**/*_test.go", "a/b/c_test.go", true},
		{"*.py", "a/b.py", false},
		{"app/?.py", "app/x.py", true},
	}
	for _, c := range cases {
		if got := matchGlob(c.glob, c.file); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", c.glob, c.file, got, c.want)
		}
	}
}
