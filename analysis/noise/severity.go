package noise

import (
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Severity levels, as LSP diagnostics name them.
const (
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// Impact sets the thresholds that turn an incident's rate and count into a
// severity. A crash that hits users every minute should be red; one seen
// twice last week should not shout like it. The zero value of a field
// means its default (DefaultImpact).
type Impact struct {
	// Window is how far back the rate is measured from now (default 1h).
	Window time.Duration
	// ErrorRate is occurrences per hour within Window at or above which the
	// incident is an error (default 10/h).
	ErrorRate float64
	// ErrorCount is the total count at or above which the incident is an
	// error when it is still occurring (seen within Window) (default 100).
	ErrorCount int
	// WarningRate is occurrences per hour within Window at or above which
	// the incident is a warning (default 1/h, i.e. any occurrence in the
	// last hour with the default window).
	WarningRate float64
	// WarningCount is the total count at or above which it is a warning
	// whenever it was last seen within Quiet (default 10).
	WarningCount int
	// Quiet is how long since the last occurrence before an incident is
	// only information, whatever its count (default 7 days).
	Quiet time.Duration
}

// DefaultImpact documents the defaults: error at >= 10/h over the last hour
// or >= 100 in total while still occurring; warning at >= 1/h over the
// last hour or >= 10 in total within the last 7 days; else information.
var DefaultImpact = Impact{
	Window:       time.Hour,
	ErrorRate:    10,
	ErrorCount:   100,
	WarningRate:  1,
	WarningCount: 10,
	Quiet:        7 * 24 * time.Hour,
}

// Severity rates inc by DefaultImpact.
func Severity(inc incident.Incident, now time.Time) string {
	return DefaultImpact.Severity(inc, now)
}

// Severity rates inc by its impact at now.
func (c Impact) Severity(inc incident.Incident, now time.Time) string {
	c = c.withDefaults()
	sinceLast := now.Sub(inc.LastSeen)
	if inc.LastSeen.IsZero() || sinceLast > c.Quiet {
		return SeverityInformation
	}
	rate := c.rate(inc, now)
	active := sinceLast <= c.Window
	switch {
	case rate >= c.ErrorRate, active && inc.Count >= c.ErrorCount:
		return SeverityError
	case rate >= c.WarningRate, inc.Count >= c.WarningCount:
		return SeverityWarning
	}
	return SeverityInformation
}

// Rate is the incident's occurrences per hour over the Window ending at now.
func (c Impact) Rate(inc incident.Incident, now time.Time) float64 {
	return c.withDefaults().rate(inc, now)
}

func (c Impact) rate(inc incident.Incident, now time.Time) float64 {
	start := now.Add(-c.Window)
	n := 0
	if len(inc.Timeline) > 0 {
		for _, b := range inc.Timeline {
			if !b.Start.Before(start) && !b.Start.After(now) {
				n += b.Count
			}
		}
	} else if !inc.FirstSeen.Before(start) && !inc.LastSeen.After(now) {
		n = inc.Count // every occurrence falls inside the window
	}
	return float64(n) / c.Window.Hours()
}

func (c Impact) withDefaults() Impact {
	d := DefaultImpact
	if c.Window > 0 {
		d.Window = c.Window
	}
	if c.ErrorRate > 0 {
		d.ErrorRate = c.ErrorRate
	}
	if c.ErrorCount > 0 {
		d.ErrorCount = c.ErrorCount
	}
	if c.WarningRate > 0 {
		d.WarningRate = c.WarningRate
	}
	if c.WarningCount > 0 {
		d.WarningCount = c.WarningCount
	}
	if c.Quiet > 0 {
		d.Quiet = c.Quiet
	}
	return d
}
