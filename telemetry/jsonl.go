package telemetry

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// jsonlEntry is one line of `logcli query --output jsonl`.
type jsonlEntry struct {
	Labels    json.RawMessage `json:"labels"`
	Line      *string         `json:"line"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// maxLabelCache bounds the per-read cache of normalised label sets; a file
// with more distinct streams than this just normalises more often.
const maxLabelCache = 4096

// readJSONL delivers logcli jsonl lines. Identical label objects share one
// normalised map, which keeps a large file's allocations per line low.
func (r *reader) readJSONL(lr lineSource) error {
	cache := map[string]map[string]string{}
	var where []byte
	for {
		raw, truncated, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		where = strconv.AppendInt(append(append(where[:0], r.origin...), ':'), int64(lr.lineNo()), 10)
		if truncated {
			// The JSON is cut, so the entry cannot be read.
			r.truncated(string(where))
			r.malformed(string(where), "entry unreadable after truncation")
			continue
		}
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		ev, problem := parseJSONLine(raw, cache)
		if problem != "" {
			r.malformed(string(where), "%s", problem)
			continue
		}
		ev.Origin = string(where)
		if err := r.deliver(ev); err != nil {
			return err
		}
	}
}

func parseJSONLine(raw []byte, cache map[string]map[string]string) (incident.Event, string) {
	labelsRaw, line, tsRaw, ok := fastJSONLine(raw)
	if !ok {
		var e jsonlEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			if isBinary(raw) {
				return incident.Event{}, "binary data"
			}
			return incident.Event{}, "invalid JSON: " + err.Error()
		}
		if e.Line == nil {
			return incident.Event{}, `no "line" field`
		}
		if len(e.Timestamp) == 0 {
			return incident.Event{}, `no "timestamp" field`
		}
		labelsRaw, line, tsRaw = e.Labels, *e.Line, e.Timestamp
	}
	ts, ok := parseTimestamp(tsRaw)
	if !ok {
		return incident.Event{}, fmt.Sprintf("bad timestamp %.40s", tsRaw)
	}
	labels, ok := cache[string(labelsRaw)]
	if !ok {
		var l map[string]string
		if len(labelsRaw) > 0 && string(labelsRaw) != "null" {
			if err := json.Unmarshal(labelsRaw, &l); err != nil {
				return incident.Event{}, "labels are not an object of strings"
			}
		}
		labels = NormalizeLabels(l)
		if len(cache) >= maxLabelCache {
			clear(cache)
		}
		cache[string(labelsRaw)] = labels
	}
	line, _ = truncateString(line)
	return incident.Event{Time: ts, Labels: labels, Line: line}, ""
}

// parseTimestamp accepts an RFC3339 string (logcli's form), a unix
// nanosecond string (Loki's API form) or a bare nanosecond number.
func parseTimestamp(raw json.RawMessage) (time.Time, bool) {
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if t, ok := unixNano(s); ok {
			return t, true
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err == nil
	}
	return unixNano(s)
}
