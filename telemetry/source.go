// Package telemetry delivers production log entries (incident.Event) and
// deploy events (incident.Deploy) from backends: files on disk and Loki.
//
// Architecture invariant: telemetry knows nothing of the editor, of stack
// traces or of incidents. It reads entries, normalises their labels and hands
// them on, one at a time, so that memory stays flat however large the input.
// Bad input never stops a read: malformed entries are counted in Stats and
// skipped; only an unreadable source is an error.
package telemetry

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Source delivers log entries. Fetch streams every entry in [q.Start, q.End)
// in timestamp order per stream to fn; it stops early when ctx ends or fn
// returns an error, and then returns that error.
//
// The Labels map of a delivered Event may be shared with other events of the
// same stream: treat it as read-only.
type Source interface {
	// Name identifies the source in messages: "file:logs.jsonl",
	// "loki:http://127.0.0.1:3100".
	Name() string
	Fetch(ctx context.Context, q Query, fn func(incident.Event) error) (Stats, error)
}

// Follower is implemented by sources that can deliver new entries as they
// arrive (Loki's live tail). Follow blocks until ctx ends or fn fails.
type Follower interface {
	Follow(ctx context.Context, q Query, pollInterval time.Duration, fn func(incident.Event) error) error
}

// Query selects entries. A zero Start or End leaves that side open for files;
// Loki needs a window and fills zero values in (see LokiConfig).
type Query struct {
	Start, End time.Time
	// Selector is a LogQL stream selector such as {service="checkout"}.
	// Optional; the file source ignores it.
	Selector string
	// Gate, when set, lets a source skip building the entries the consumer
	// will not use. Optional; sources may ignore it and deliver everything.
	Gate Gate
}

// A Gate is how the consumer of a Fetch says which entries it needs whole.
// Most lines of a production log are not part of any crash, and building
// an Event for each (decoding the line, allocating it) is most of the cost
// of reading a large file. A source that honours the Gate still reads and
// checks every entry (malformed ones are counted as always) but, for an
// entry whose line Candidate refuses, calls Skip instead of fn unless Skip
// asks for it.
type Gate interface {
	// Candidate reports whether the consumer may need the entry with this
	// line whatever came before it. It is called from several goroutines
	// at once, must not keep line, and must depend on line alone.
	Candidate(line string) bool
	// Skip is called, in delivery order and from Fetch's goroutine, for an
	// entry in the window whose line Candidate refused. It returns true
	// when the consumer has taken note of the entry (counted it) and does
	// not need it; false when it needs it after all (its stream is in the
	// middle of a multi-line trace), and the entry then goes to fn.
	Skip(labels map[string]string, t time.Time) bool
}

// An EscapedGate is a Gate that can refuse a line of a JSON source before
// it is decoded. Most lines of a log that holds JSON (slog, access logs
// with quotes) are escaped inside the source's own JSON, and decoding them
// only to refuse them was a fifth of reading such a file.
type EscapedGate interface {
	Gate
	// CandidateEscaped is called with the content of a JSON string (what
	// lies between its quotes) that holds escapes, none of them \uXXXX,
	// \n or \\ (an entry of several lines is decoded and given to
	// Candidate, and so is one holding a backslash, which may be a JSON
	// line whose own strings hold escaped line breaks). It returns false
	// only when Candidate would refuse the decoded line; true means
	// "decode it and ask Candidate". Same rules as Candidate.
	CandidateEscaped(raw string) bool
}

// A BorrowingGate is a Gate that takes an entry Skip did not take without
// the source's own copy of its line. In a crash storm a third of the
// streams are in the middle of a trace at any time, and their other
// entries, which Skip must refuse, were each decoded into a new string that
// was dropped at once: a fifth of the work of Fetch's goroutine.
type BorrowingGate interface {
	Gate
	// Take is called instead of fn, in delivery order, for an entry in the
	// window that Candidate refused and Skip did not take. e.Line is valid
	// only during the call: the consumer copies what it keeps. e.Origin is
	// empty: a line Candidate refused starts no trace, so no message
	// points back at it.
	Take(e incident.Event)
}

// A ForeignGate is a BorrowingGate that can take, without decoding its
// line, an entry that its consumer would only count: in a crash storm,
// each trace's stream goes on past its end with lines that its open trace
// must see refused before it closes, as many as the traces' own lines and
// most of them escaped.
type ForeignGate interface {
	BorrowingGate
	// TakeForeign is called, in delivery order, before Take for an entry
	// Skip did not take whose line is still escaped: raw is the content of
	// its JSON string, ASCII, with escapes but no \uXXXX, \n or \\ one.
	// It returns true when it took the entry as Take would have; false
	// means "decode the line and call Take".
	TakeForeign(labels map[string]string, t time.Time, raw string) bool
}

// A PrefaceGate is a Gate whose consumer needs, with some entries that
// Candidate accepts, the line of the same stream before them: pkg/errors
// prints an error's message on one line and its stack below, and only the
// stack's first line is a candidate. A source that honours it sets
// Event.Before when it can (the line before is at hand: in the same chunk
// of input, at most a few entries back).
type PrefaceGate interface {
	Gate
	// NeedsPreface reports whether the entry of the stream labels at t
	// with this line wants its Before: the line may start a trace whose
	// message is on the line before. Asked in order, as Skip is, so that
	// a line continuing its stream's trace can say no.
	NeedsPreface(labels map[string]string, t time.Time, line string) bool
}

// Contains reports whether t lies in [Start, End), open sides included.
func (q Query) Contains(t time.Time) bool {
	return (q.Start.IsZero() || !t.Before(q.Start)) && (q.End.IsZero() || t.Before(q.End))
}

// Stats says what a Fetch read, so that the CLI and the doctor command can
// tell the user about input that was skipped rather than silently drop it.
type Stats struct {
	Entries   int // entries in the window: delivered to fn or taken by the Query's Gate
	Malformed int // entries skipped because they could not be read
	// Truncated counts lines longer than MaxLineBytes that were cut; they
	// are delivered (cut) and also listed in FirstProblems.
	Truncated int
	// FirstProblems holds the first few problems met, with where they
	// were ("logs.jsonl:12: invalid JSON ...").
	FirstProblems []string
	// Bytes is how much input was read (after decompression for files,
	// response bodies for Loki).
	Bytes int64
	// Format is what the file source detected: "jsonl", "query_range",
	// "text"; empty for Loki.
	Format string
	// Hint says how to give the input in a form read better, when the
	// source recognised one it reads poorly (logcli's default output).
	Hint string
}

// maxProblems bounds Stats.FirstProblems: the first few are enough to find
// the cause, and a broken file must not fill memory with messages.
const maxProblems = 5

func (s *Stats) problem(format string, args ...any) {
	if len(s.FirstProblems) < maxProblems {
		s.FirstProblems = append(s.FirstProblems, fmt.Sprintf(format, args...))
	}
}

// Add merges o into s (used when a fetch is split into several queries).
func (s *Stats) Add(o Stats) {
	s.Entries += o.Entries
	s.Malformed += o.Malformed
	s.Truncated += o.Truncated
	s.Bytes += o.Bytes
	for _, p := range o.FirstProblems {
		if len(s.FirstProblems) >= maxProblems {
			break
		}
		s.FirstProblems = append(s.FirstProblems, p)
	}
	if s.Format == "" {
		s.Format = o.Format
	}
	if s.Hint == "" {
		s.Hint = o.Hint
	}
}
