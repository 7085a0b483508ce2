package telemetry

import (
	"bytes"
	"cmp"
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

// deployAliases are the other names deploy exports give the contract's
// fields (the log label aliases of design §3, and what CD systems and
// GitHub call them), tried in order when the contract's name is absent or
// empty: a file written by a script around `kubectl rollout`, Argo CD or
// GitHub's deployments API is read without rewriting it.
var deployAliases = []struct {
	field   string
	aliases []string
}{
	{"timestamp", []string{"time", "ts", "deployed_at", "created_at", "finished_at"}},
	{"service", []string{"service_name", "service.name", "app", "application"}},
	{"env", []string{"environment", "deployment_environment", "deployment.environment.name", "deployment.environment"}},
	{"version", []string{"service_version", "service.version", "tag"}},
	{"commit", []string{"sha", "commit_sha", "git_sha", "git_commit", "revision"}},
}

// applyDeployAliases fills l's empty fields from the aliases in raw.
func applyDeployAliases(raw []byte, l *deployLine) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return
	}
	str := func(name string) string {
		var s string
		if v, ok := fields[name]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	for _, a := range deployAliases {
		for _, name := range a.aliases {
			v, ok := fields[name]
			if !ok {
				continue
			}
			switch a.field {
			case "timestamp":
				if len(l.Timestamp) == 0 || string(l.Timestamp) == "null" {
					l.Timestamp = v
				}
			case "service":
				l.Service = cmp.Or(l.Service, str(name))
			case "env":
				l.Env = cmp.Or(l.Env, str(name))
			case "version":
				l.Version = cmp.Or(l.Version, str(name))
			case "commit":
				l.Commit = cmp.Or(l.Commit, str(name))
			}
		}
	}
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
	if head, _ := br.Peek(512); bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\ufeff"), []byte("[")) {
		out, err := readDeployArray(br, &st)
		sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
		return out, st, err
	}
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

// readDeployArray reads deploy events given as one JSON array of objects,
// as an API's response saved to a file is (`gh api .../deployments`).
func readDeployArray(r io.Reader, st *Stats) ([]incident.Deploy, error) {
	cr := &countingReader{r: r}
	dec := json.NewDecoder(cr)
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read deploys: %w", err)
	}
	var out []incident.Deploy
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			st.Bytes = cr.n
			return out, fmt.Errorf("read deploys: element %d: %w", i, err)
		}
		d, problem := parseDeploy(raw, false)
		if problem != "" {
			st.Malformed++
			st.problem("element %d: %s", i, problem)
			continue
		}
		out = append(out, d)
	}
	st.Bytes = cr.n
	st.Entries = len(out)
	return out, nil
}

func parseDeploy(raw []byte, truncated bool) (incident.Deploy, string) {
	if truncated {
		return incident.Deploy{}, fmt.Sprintf("line longer than %d bytes", MaxLineBytes)
	}
	var l deployLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return incident.Deploy{}, "invalid JSON: " + err.Error()
	}
	if len(l.Timestamp) == 0 || l.Service == "" || l.Env == "" || l.Version == "" || l.Commit == "" {
		applyDeployAliases(raw, &l)
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
