package noise

import (
	"fmt"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Hidden is an incident a rule hid, with the rule, so the editor's status
// can say "3 hidden by .faultline/ignore" and a hover can say which line.
type Hidden struct {
	Incident incident.Incident
	Rule     Rule
	// Why is one sentence: "snoozed until 2026-12-01 (.faultline/ignore:3)".
	Why string
}

// Filter splits incidents into those to show and those the rules hide,
// keeping the order of each. now decides whether date snoozes have run out.
func Filter(incs []incident.Incident, rules Rules, now time.Time) (kept []incident.Incident, hidden []Hidden) {
	for _, inc := range incs {
		if r, why, ok := rules.hides(inc, now); ok {
			hidden = append(hidden, Hidden{Incident: inc, Rule: r, Why: why})
			continue
		}
		kept = append(kept, inc)
	}
	return kept, hidden
}

// hides returns the first rule that hides inc.
func (rs Rules) hides(inc incident.Incident, now time.Time) (Rule, string, bool) {
	for _, r := range rs.Rules {
		if why, ok := r.hides(inc, now); ok {
			if r.Reason != "" {
				why += ": " + r.Reason
			}
			return r, why, true
		}
	}
	return Rule{}, "", false
}

func (r Rule) hides(inc incident.Incident, now time.Time) (string, bool) {
	switch r.Kind {
	case KindIgnore:
		if inc.ID == r.ID {
			return fmt.Sprintf("ignored (%s)", r.Where()), true
		}
	case KindMute:
		if inc.Location != nil && matchGlob(r.Glob, inc.Location.File) {
			return fmt.Sprintf("%s is muted by %s (%s)", inc.Location.File, r.Glob, r.Where()), true
		}
	case KindSnooze:
		if inc.ID != r.ID {
			return "", false
		}
		if !r.Until.IsZero() {
			if now.Before(r.Until) {
				return fmt.Sprintf("snoozed until %s (%s)", r.Until.Format("2006-01-02"), r.Where()), true
			}
			return "", false
		}
		for _, v := range inc.Versions {
			if !slices.Contains(r.Versions, v) {
				return "", false // seen in a new version: the snooze is over
			}
		}
		return fmt.Sprintf("snoozed until a version other than %v (%s)", r.Versions, r.Where()), true
	}
	return "", false
}

// Summary is the status line for hidden incidents, "" when none:
// "3 hidden by .faultline/ignore".
func Summary(hidden []Hidden) string {
	if len(hidden) == 0 {
		return ""
	}
	return fmt.Sprintf("%d hidden by %s", len(hidden), FileName)
}
