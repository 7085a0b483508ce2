package correlator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

// historyEvidence says what the store remembers of an incident before this
// analysis: was it resolved and is it back (a regression), has it been
// failing since before the window. A regression is stated in the root-cause
// summary too: "it came back" changes what a developer looks for.
func historyEvidence(ctx context.Context, st store.Store, inc *incident.Incident) error {
	if inc.RootCause == nil {
		return nil
	}
	rec, err := st.Incident(ctx, inc.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("history of %s: %w", inc.ID, err)
	}
	hist, err := st.History(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("history of %s: %w", inc.ID, err)
	}
	var resolved time.Time
	for _, h := range hist {
		if h.Kind == "resolved" {
			resolved = h.Time
		}
	}
	rc := inc.RootCause
	switch {
	case !resolved.IsZero() && inc.LastSeen.After(resolved):
		rc.Evidence = append(rc.Evidence, incident.Evidence{Kind: "history",
			Text: fmt.Sprintf("regression: resolved %s, failing again since then", resolved.UTC().Format(time.RFC3339))})
		rc.Summary = "regression (it was resolved and came back): " + rc.Summary
	case rec.Incident.FirstSeen.Before(inc.FirstSeen):
		rc.Evidence = append(rc.Evidence, incident.Evidence{Kind: "history",
			Text: fmt.Sprintf("seen before: first seen %s, %d occurrences stored", rec.Incident.FirstSeen.UTC().Format(time.RFC3339), rec.Incident.Count)})
	}
	return nil
}
