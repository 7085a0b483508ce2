package lsp

import (
	"context"
	"fmt"
	"strings"
)

// methodStatus is the custom notification status bars listen to.
const methodStatus = "faultline/status"

// statusParams is the contract's faultline/status payload.
type statusParams struct {
	Incidents int            `json:"incidents"`
	Stale     bool           `json:"stale"`
	Message   string         `json:"message"`
	Sources   []SourceStatus `json:"sources"`
}

// status sums every root's current snapshot.
func (s *server) status() statusParams {
	st := statusParams{Sources: []SourceStatus{}}
	var msgs []string
	for _, r := range s.rootList() {
		snap := r.snap.Load()
		st.Incidents += len(snap.order)
		st.Stale = st.Stale || snap.stale
		st.Sources = append(st.Sources, snap.sources...)
		if snap.message != "" {
			msgs = append(msgs, snap.message)
		}
	}
	switch {
	case len(msgs) > 0:
		st.Message = strings.Join(msgs, "; ")
	default:
		st.Message = fmt.Sprintf("%d production incidents", st.Incidents)
	}
	return st
}

func (s *server) sendStatus(ctx context.Context) {
	if err := s.conn.Notify(ctx, methodStatus, s.status()); err != nil {
		s.log.printf("faultline/status: %v", err)
	}
}
