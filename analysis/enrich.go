package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Enricher adds evidence from a backend other than the logs (metric
// anomalies from Prometheus, the failing span of a trace) to an incident.
// Implementations live with their backend in telemetry; they must return
// within ctx and report failures as errors, never as fake evidence.
type Enricher interface {
	Name() string
	Enrich(ctx context.Context, inc incident.Incident) ([]incident.Evidence, error)
}

// enrichTimeout bounds one enricher on one incident: evidence is welcome,
// but never worth holding an analysis (and so the editor's diagnostics) back.
const enrichTimeout = 10 * time.Second

// enrich runs the enrichers on every incident and appends their evidence.
// A failing enricher costs one problem line, not the analysis.
func enrich(ctx context.Context, enrichers []Enricher, incs []incident.Incident) []string {
	var problems []string
	for _, e := range enrichers {
		failed := 0
		var first error
		for i := range incs {
			if incs[i].RootCause == nil {
				continue
			}
			ectx, cancel := context.WithTimeout(ctx, enrichTimeout)
			ev, err := e.Enrich(ectx, incs[i])
			cancel()
			if err != nil {
				if failed == 0 {
					first = err
				}
				failed++
				continue
			}
			incs[i].RootCause.Evidence = append(incs[i].RootCause.Evidence, ev...)
		}
		if failed > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d of %d incidents without its evidence: %v", e.Name(), failed, len(incs), first))
		}
	}
	return problems
}
