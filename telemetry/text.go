package telemetry

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// readText delivers each non-empty line of a plain-text capture as one
// event with the given labels.
//
// Timestamps: a line that starts with an RFC3339 timestamp (as written by
// `docker logs --timestamps` or most loggers) takes it, and the timestamp and
// the blanks after it are removed from the line, as Loki would store it. A
// line without one gets the previous line's time plus 1ms, so continuation
// lines of a stack trace stay right after the line that opened it; lines
// before any timestamp are numbered 1ms apart from the file's modification
// time. Order is always the file's order.
func (r *reader) readText(lr *lineReader, labels map[string]string, mtime time.Time) error {
	var prev time.Time
	for {
		raw, truncated, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		where := fmt.Sprintf("%s:%d", r.origin, lr.line)
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if isBinary(raw) {
			r.malformed(where, "binary data")
			continue
		}
		if truncated {
			r.truncated(where)
		}
		ts, rest, ok := leadingTimestamp(raw)
		switch {
		case ok:
			raw = rest
		case prev.IsZero():
			ts = mtime.UTC()
		default:
			ts = prev.Add(time.Millisecond)
		}
		prev = ts
		ev := incident.Event{Time: ts, Labels: labels, Line: validString(raw), Origin: where}
		if err := r.deliver(ev); err != nil {
			return err
		}
	}
}

// leadingTimestamp parses an RFC3339 timestamp at the start of line and
// returns the rest of the line after the one blank that follows it: the
// blanks after that are the line's own (a Go frame's file line starts with
// a tab, a Python frame with spaces, and `docker logs -t` or a CRI log file
// puts one space between the time and the line).
func leadingTimestamp(line []byte) (time.Time, []byte, bool) {
	// Cheap check first: "2006-01-02T".
	if len(line) < 20 || line[4] != '-' || line[7] != '-' || (line[10] != 'T' && line[10] != 't') ||
		line[0] < '0' || line[0] > '9' {
		return time.Time{}, nil, false
	}
	end := bytes.IndexAny(line, " \t")
	if end < 0 {
		end = len(line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:end]))
	if err != nil {
		return time.Time{}, nil, false
	}
	rest := line[end:]
	if len(rest) > 0 {
		rest = rest[1:]
	}
	return t.UTC(), rest, true
}
