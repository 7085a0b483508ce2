package telemetry

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// deployLine is one line of a deploy events file (design §3).
type deployLine struct {
	Timestamp json.RawMessage `json:"timestamp"`
	Service   string          `json:"service"`
	Env       string          `json:"env"`
	Version   string          `json:"version"`
	Commit    string          `json:"commit"`
}

// ReadDeploys reads deploy events, one JSON object per line:
//
//	{"timestamp":"...","service":"checkout","env":"prod","version":"v1.4.0","commit":"<sha>"}
//
// The timestamp is RFC3339 or unix nanoseconds. A line without a timestamp,
// or with neither version nor commit, says nothing usable and is counted
// malformed; so is invalid JSON. Gzip input is read transparently. The
// result is sorted by time (stable), which is what correlation walks.
// Only a failing reader is an error.
func ReadDeploys(r io.Reader) ([]incident.Deploy, Stats, error) {
	var st Stats
	st.Format = "deploys"
	br, closeGz, _, err := decompress(r)
	if err != nil {
		return nil, st, fmt.Errorf("read deploys: %w", err)
	}
	defer closeGz()
	lr := newLineReader(br)
	var out []incident.Deploy
	for {
		raw, truncated, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			st.Bytes = lr.bytes
			return out, st, fmt.Errorf("read deploys: line %d: %w", lr.line+1, err)
		}
		if strings.TrimSpace(string(raw)) == "" {
			continue
		}
		d, problem := parseDeploy(raw, truncated)
		if problem != "" {
			st.Malformed++
			st.problem("line %d: %s", lr.line, problem)
			continue
		}
		out = append(out, d)
	}
	st.Bytes = lr.bytes
	st.Entries = len(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, st, nil
}

func parseDeploy(raw []byte, truncated bool) (incident.Deploy, string) {
	if truncated {
		return incident.Deploy{}, fmt.Sprintf("line longer than %d bytes", MaxLineBytes)
	}
	var l deployLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return incident.Deploy{}, "invalid JSON: " + err.Error()
	}
	ts, ok := parseTimestamp(l.Timestamp)
	if !ok {
		return incident.Deploy{}, fmt.Sprintf("bad or missing timestamp %.40s", l.Timestamp)
	}
	if l.Version == "" && l.Commit == "" {
		return incident.Deploy{}, "neither version nor commit"
	}
	return incident.Deploy{Time: ts, Service: l.Service, Env: l.Env, Version: l.Version, Commit: l.Commit}, ""
}
