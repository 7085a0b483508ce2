package noise

import (
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

func TestSeverity(t *testing.T) {
	now := date("2026-11-20T12:00:00Z")
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	buckets := func(counts ...int) []incident.Bucket { // 5-minute buckets ending now
		var out []incident.Bucket
		for i, c := range counts {
			out = append(out, incident.Bucket{Start: now.Add(-time.Duration(len(counts)-i) * 5 * time.Minute), Count: c})
		}
		return out
	}
	cases := []struct {
		name string
		cfg  Impact
		inc  incident.Incident
		want string
	}{
		{"burst in the last hour", Impact{}, incident.Incident{Count: 12, FirstSeen: ago(30 * time.Minute), LastSeen: ago(time.Minute), Timeline: buckets(6, 6)}, SeverityError},
		{"high total, still occurring", Impact{}, incident.Incident{Count: 150, FirstSeen: ago(72 * time.Hour), LastSeen: ago(10 * time.Minute), Timeline: buckets(1)}, SeverityError},
		{"high total, quiet for a day", Impact{}, incident.Incident{Count: 150, FirstSeen: ago(72 * time.Hour), LastSeen: ago(24 * time.Hour)}, SeverityWarning},
		{"a few in the last hour", Impact{}, incident.Incident{Count: 2, FirstSeen: ago(20 * time.Minute), LastSeen: ago(5 * time.Minute)}, SeverityWarning},
		{"once, yesterday", Impact{}, incident.Incident{Count: 1, FirstSeen: ago(24 * time.Hour), LastSeen: ago(24 * time.Hour)}, SeverityInformation},
		{"many, but a month ago", Impact{}, incident.Incident{Count: 5000, FirstSeen: ago(800 * time.Hour), LastSeen: ago(720 * time.Hour)}, SeverityInformation},
		{"never seen", Impact{}, incident.Incident{}, SeverityInformation},
		{"stricter error rate", Impact{ErrorRate: 2}, incident.Incident{Count: 3, FirstSeen: ago(20 * time.Minute), LastSeen: ago(5 * time.Minute)}, SeverityError},
		{"wider window dilutes the rate", Impact{Window: 10 * time.Hour}, incident.Incident{Count: 12, FirstSeen: ago(30 * time.Minute), LastSeen: ago(time.Minute), Timeline: buckets(6, 6)}, SeverityWarning},
		{"old buckets do not count", Impact{}, incident.Incident{Count: 9, FirstSeen: ago(3 * time.Hour), LastSeen: ago(10 * time.Minute),
			Timeline: []incident.Bucket{{Start: ago(3 * time.Hour), Count: 8}, {Start: ago(15 * time.Minute), Count: 1}}}, SeverityWarning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.cfg.Severity(c.inc, now); got != c.want {
				t.Errorf("Severity = %s, want %s (rate %.1f/h)", got, c.want, c.cfg.Rate(c.inc, now))
			}
		})
	}
	if Severity(cases[0].inc, now) != SeverityError {
		t.Error("package Severity does not use DefaultImpact")
	}
}
