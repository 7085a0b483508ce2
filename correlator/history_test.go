package correlator

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

func TestHistoryEvidence(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	inc := func(first, last time.Time) incident.Incident {
		return incident.Incident{ID: "abc", Service: "checkout", Env: "prod", Count: 1, FirstSeen: first, LastSeen: last,
			Versions: []string{"v1"}, RootCause: &incident.RootCause{Summary: "introduced by x"}}
	}
	first := inc(t0, t0)
	if err := historyEvidence(ctx, st, &first); err != nil || len(first.RootCause.Evidence) != 0 {
		t.Fatalf("a new incident has no history: %v %+v", err, first.RootCause.Evidence)
	}
	if _, err := st.Ingest(ctx, "repo", first, []store.Occurrence{{Key: "k1", Time: t0}}); err != nil {
		t.Fatal(err)
	}

	later := inc(t0.Add(time.Hour), t0.Add(time.Hour))
	if err := historyEvidence(ctx, st, &later); err != nil {
		t.Fatal(err)
	}
	if len(later.RootCause.Evidence) != 1 || !strings.Contains(later.RootCause.Evidence[0].Text, "seen before") {
		t.Fatalf("evidence = %+v, want 'seen before'", later.RootCause.Evidence)
	}

	if err := st.Resolve(ctx, "abc", t0.Add(2*time.Hour), "fixed in v2"); err != nil {
		t.Fatal(err)
	}
	back := inc(t0.Add(3*time.Hour), t0.Add(3*time.Hour))
	if err := historyEvidence(ctx, st, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.RootCause.Evidence) != 1 || !strings.Contains(back.RootCause.Evidence[0].Text, "regression") ||
		!strings.HasPrefix(back.RootCause.Summary, "regression") {
		t.Fatalf("a resolved incident that is back: %+v %q", back.RootCause.Evidence, back.RootCause.Summary)
	}
}
