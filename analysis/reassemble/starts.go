package reassemble

import (
	"strings"

	"github.com/faultline-dev/faultline/analysis/stack"
)

// Starts answers, from the parsers alone, whether an entry could start a
// trace: the question a source asks of every entry from its decoding
// goroutines before it builds the entry (see telemetry.Gate). It is never
// written after NewStarts, so any number of goroutines may ask it.
//
// It is an allocation of its own, apart from the Reassembler, on purpose:
// the Reassembler's goroutine writes its counters for every entry, and
// decoding goroutines that read the parsers from the same cache line made
// the line travel between cores on every entry (measured: 450 ms of 11 s
// of CPU in the crash-storm benchmark on one field load).
type Starts struct {
	_       [64]byte // off the cache line of the allocation before
	parsers []stack.Parser
	// escaped are parsers as EscapedStarters, or nil when one is not.
	escaped []stack.EscapedStarter
	_       [64]byte // and of the one after
}

// NewStarts returns the Starts of parsers.
func NewStarts(parsers []stack.Parser) *Starts {
	s := &Starts{parsers: parsers, escaped: make([]stack.EscapedStarter, 0, len(parsers))}
	for _, p := range parsers {
		es, ok := p.(stack.EscapedStarter)
		if !ok {
			s.escaped = nil
			break
		}
		s.escaped = append(s.escaped, es)
	}
	return s
}

// same reports whether s was made from exactly parsers.
func (s *Starts) same(parsers []stack.Parser) bool {
	return len(parsers) == len(s.parsers) && (len(parsers) == 0 || &parsers[0] == &s.parsers[0])
}

// Candidate reports whether Add could do more with line than count it when
// its stream has no open block: some parser starts a trace with it, or it
// is a structured line that may hold one.
func (s *Starts) Candidate(line string) bool {
	line = trimEOL(line)
	if strings.IndexByte(line, '\n') < 0 {
		return s.candidateLine(stripRuntimePrefix(line))
	}
	if line[0] == '{' && mayHoldTrace(line) {
		return true
	}
	for l := range entryLines(line) {
		if s.candidateLine(l) {
			return true
		}
	}
	return false
}

// candidateLine is Candidate for one line of an entry.
func (s *Starts) candidateLine(line string) bool {
	if len(line) > 0 && line[0] == '{' && mayHoldTrace(line) || mayHoldLogfmtTrace(line) {
		return true
	}
	for _, p := range s.parsers {
		if p.Start(line) {
			return true
		}
	}
	_, ok := oneLineTrace(s.parsers, line) // a trace kept on one line
	return ok
}

// CandidateEscaped is Candidate for a line that is still the content of a
// JSON string holding escapes but no \uXXXX or \n one (see
// telemetry.EscapedGate): it returns false only when Candidate of the
// decoded line is false. A parser that does not implement
// stack.EscapedStarter makes it true.
func (s *Starts) CandidateEscaped(raw string) bool {
	raw = stripRuntimePrefix(trimEscapedEOL(raw)) // the prefix holds nothing JSON escapes
	if len(raw) > 0 && raw[0] == '{' && mayHoldTraceEscaped(raw) {
		return true
	}
	if s.escaped == nil {
		return true
	}
	for _, es := range s.escaped {
		if es.MayStartEscaped(raw) {
			return true
		}
	}
	return false
}

// NeedsPreface reports whether line starts a trace only behind the line
// before it in its stream (see stack.Prefaced), or may take that line as
// its message (stack.OptionallyPrefaced): a source that skips entries
// gives that line with the entry (incident.Event.Before).
func (s *Starts) NeedsPreface(line string) bool {
	line = trimEOL(line)
	if strings.IndexByte(line, '\n') >= 0 {
		return false // an entry of several lines holds its own message
	}
	line = stripRuntimePrefix(line)
	for _, p := range s.parsers {
		if pf, ok := p.(stack.Prefaced); ok && pf.NeedsPreface(line) {
			return true
		}
		if op, ok := p.(stack.OptionallyPrefaced); ok && op.MayTakePreface(line) {
			return true
		}
	}
	return false
}
