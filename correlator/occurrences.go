package correlator

import (
	"strings"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

// occurrences reads the same events as the analysis, through the same
// reassembler, to know each occurrence individually: the analysis hands out
// incidents with counts, the store needs the keys behind the counts.
type occurrences struct {
	reasm *reassemble.Reassembler
	byID  map[string][]store.Occurrence
}

func newOccurrences() *occurrences {
	o := &occurrences{byID: map[string][]store.Occurrence{}}
	o.reasm = reassemble.New(o.emit)
	return o
}

func (o *occurrences) add(e incident.Event) { o.reasm.Add(e) }

func (o *occurrences) flush() { o.reasm.Flush() }

func (o *occurrences) emit(oc reassemble.Occurrence) {
	service := oc.Labels[incident.LabelService]
	env := oc.Labels[incident.LabelEnv]
	id := analysis.IncidentID(service, env, analysis.Fingerprint(oc.Trace))
	first := oc.Trace.Message
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	o.byID[id] = append(o.byID[id], store.Occurrence{
		Key:        store.OccurrenceKey(oc.Labels, oc.Time, first),
		IncidentID: id,
		Time:       oc.Time,
		Version:    oc.Labels[incident.LabelVersion],
		Message:    first,
		Labels:     oc.Labels,
	})
}
