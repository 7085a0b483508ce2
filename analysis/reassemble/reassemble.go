// Package reassemble puts stack traces back together from log entries.
//
// A runtime writes a crash to stderr; the log agent stores every stderr line
// as its own entry, so a 40-line Go panic arrives as 40 entries of one stream,
// interleaved with other streams' entries and sometimes repeated. The
// Reassembler keeps one small state machine per stream (same label set) and
// asks the stack parsers which lines open and continue a trace. Traces that a
// structured logger put into one JSON line (a "stack" field with escaped
// newlines) are read from that line alone.
//
// Memory is bounded: one open block per stream, each capped at MaxLines.
package reassemble

import (
	"iter"
	"strings"
	"time"
	"unsafe"

	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/labelmemo"
)

// Occurrence is one crash read from the logs.
type Occurrence struct {
	Time     time.Time // time of the trace's first entry
	Labels   map[string]string
	Trace    incident.Trace
	TraceIDs []string
	Origin   string
}

// Stats counts what the reassembler saw, for "why is nothing showing" answers.
type Stats struct {
	Events      int // entries read
	Traces      int // traces emitted (with at least one frame)
	Frameless   int // error headers that carried no frame (not emitted)
	Structured  int // traces read from one structured line
	Truncated   int // blocks cut at MaxLines
	GapSplits   int // blocks closed because the stream went quiet
	OpenStreams int // high-water mark of streams with an open block
}

// Defaults for a Reassembler.
const (
	// DefaultGap closes a block when its stream is quiet this long: the lines of
	// one crash are written within milliseconds.
	DefaultGap = 2 * time.Second
	// DefaultMaxLines caps one block; a GOTRACEBACK=all dump of a busy server
	// can be long, but the crashing goroutine is printed first.
	DefaultMaxLines = 20000
	// DefaultMaxForeign tolerates a few lines of other writers inside a trace.
	DefaultMaxForeign = 8
)

// Reassembler turns a flow of events into Occurrences. It is not safe for
// concurrent use; feed it from one goroutine.
type Reassembler struct {
	Parsers  []stack.Parser
	Gap      time.Duration
	MaxLines int
	// MaxForeign is how many consecutive lines that do not belong to an open
	// trace its stream may interleave before the trace is closed.
	MaxForeign int

	emit  func(Occurrence)
	stats Stats
	keys  labelmemo.Memo[*slot]
	// slots holds the slot of every stream in keys and of every stream
	// with an open block; openBlocks counts the latter.
	slots      map[string]*slot
	openBlocks int
	// starts is the Starts of the Parsers New was given.
	starts *Starts
	// borrowed is set during AddBorrowed and AddRefused: lines kept must
	// be copied. refused is set during AddRefused: the entry starts
	// nothing.
	borrowed, refused bool
	// skips counts the entries Skipped: a stream's previous line is known
	// only while none was skipped since (see slot.prev).
	skips int
	// closer parses closed blocks on a goroutine of its own once Pipeline
	// was called (nil otherwise).
	closer *closer
}

// slot says whether a stream has an open block, reachable from a label
// set's identity in one lookup: Idle is asked for most entries of a log.
type slot struct {
	key  string
	open *block // nil when the stream has no open block
	// prev is the stream's last line, when it was fed at prevAt with
	// prevSkips entries Skipped before it: the message line of a trace
	// that needs one (see stack.Prefaced). Lines fed borrowed clear it;
	// their sources give the message with the entry (Event.Before).
	// prevIndented is set when the line before prev was indented: prev
	// then follows a stack (pkg/errors' message of an errors.Wrap, whose
	// stack below is not an error of its own).
	prev         string
	prevAt       time.Time
	prevSkips    int
	prevIndented bool
}

// slotOf returns the slot of the stream of l, found by the identity of l
// (see package labelmemo) without rendering its key.
func (r *Reassembler) slotOf(l map[string]string) *slot {
	if s, ok := r.keys.Get(l); ok {
		return s
	}
	s := r.slotFor(incident.LabelsKey(l))
	if !r.keys.Put(l, s) {
		// The memo started over: drop the slots it no longer reaches,
		// but not those of open blocks.
		for key, o := range r.slots {
			if o.open == nil && o != s {
				delete(r.slots, key)
			}
		}
	}
	return s
}

func (r *Reassembler) slotFor(key string) *slot {
	s := r.slots[key]
	if s == nil {
		s = &slot{key: key}
		r.slots[key] = s
	}
	return s
}

type block struct {
	parser stack.Parser
	lines  []string
	// text holds the copies of borrowed lines (see keep).
	text    []byte
	bytes   int
	start   time.Time
	last    time.Time
	labels  map[string]string
	origin  string
	cut     bool
	foreign int // consecutive lines since the last one that continued the block
	// prefaced is set when the block opened behind its message line
	// (stack.Prefaced): after a foreign line, the next trace of that
	// kind opens a block of its own rather than continuing this one.
	prefaced bool
}

// New returns a Reassembler that calls emit for every trace it completes.
func New(emit func(Occurrence)) *Reassembler {
	r := &Reassembler{
		Parsers:    stack.Parsers,
		Gap:        DefaultGap,
		MaxLines:   DefaultMaxLines,
		MaxForeign: DefaultMaxForeign,
		emit:       emit,
		slots:      make(map[string]*slot),
	}
	r.starts = NewStarts(r.Parsers)
	return r
}

// Stats returns the counts so far.
func (r *Reassembler) Stats() Stats {
	r.Wait()
	return r.stats
}

// maxBlockBytes bounds the text kept for one block, whatever its line count.
const maxBlockBytes = 8 << 20

// Add feeds one event. An entry may hold many lines: a log pipeline that
// joins a trace into one entry (promtail's or Alloy's multiline stage,
// Fluent Bit's multiline parser), or a logger that writes the message and
// its traceback as one record (Python's logger.exception, a Java appender
// shipping to Loki). Its lines are read in order as if each were an entry
// of the stream.
func (r *Reassembler) Add(e incident.Event) {
	r.stats.Events++
	line := trimEOL(e.Line)
	if strings.IndexByte(line, '\n') < 0 {
		r.addLine(e, stripRuntimePrefix(line))
		return
	}
	if !r.refused && line[0] == '{' && mayHoldTrace(line) && r.structured(e, line) {
		return // pretty-printed JSON
	}
	for l := range entryLines(line) {
		r.addLine(e, l)
	}
}

// AddBorrowed is Add for an event whose line is valid only during the call
// (a view of a reader's buffer): the lines a block keeps are copied.
func (r *Reassembler) AddBorrowed(e incident.Event) {
	r.borrowed = true
	r.Add(e)
	r.borrowed = false
}

// AddRefused is AddBorrowed for an entry whose line Candidate refused (a
// source's gate refused it, and Skip did not take it because its stream
// is in the middle of a trace): it can only continue the stream's open
// block or be a foreign line in it, so no parser is asked whether it
// starts a trace, nor is it read as a structured line.
func (r *Reassembler) AddRefused(e incident.Event) {
	r.refused = true
	r.AddBorrowed(e)
	r.refused = false
}

// keep returns line as block b may keep it: a borrowed line is copied
// into b's text.
func (r *Reassembler) keep(b *block, line string) string {
	if !r.borrowed {
		return line
	}
	return b.keep(line)
}

// blockTextBytes bounds the lines a block copies into its text; past it,
// each line is a copy of its own. A trace kept as an incident's sample
// keeps its block's text alive: a long dump keeps only this much of it.
const blockTextBytes = 16 << 10

// keep copies line into b's text and returns the copy. The lines of a
// trace were a third of the allocations of reading a crash storm, one
// each; they now share a few. Bytes once written are never written again:
// when the text is full a new one is started, and the lines copied into
// the old one keep it alive.
func (b *block) keep(line string) string {
	if len(line) == 0 {
		return ""
	}
	if b.bytes > blockTextBytes {
		return strings.Clone(line)
	}
	if cap(b.text)-len(b.text) < len(line) {
		b.text = make([]byte, 0, max(2*cap(b.text), len(line), 512))
	}
	start := len(b.text)
	b.text = append(b.text, line...)
	return unsafe.String(&b.text[start], len(line))
}

// entryLines yields the lines of an entry of several lines, each read as
// the line of an entry of its own is.
func entryLines(entry string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for l := range strings.SplitSeq(entry, "\n") {
			if !yield(stripRuntimePrefix(strings.TrimRight(l, "\r"))) {
				return
			}
		}
	}
}

// addLine feeds one line of an entry.
func (r *Reassembler) addLine(e incident.Event, line string) {
	if !r.refused && len(line) > 0 && line[0] == '{' && mayHoldTrace(line) {
		if r.structured(e, line) {
			return
		}
	}
	if !r.refused && mayHoldLogfmtTrace(line) && r.logfmtLine(e, line) {
		return
	}
	if !r.refused {
		if tr, ok := oneLineTrace(r.Parsers, line); ok {
			// A trace kept on one line behind its message: read as an
			// entry of several lines (its pieces hold no escaped break).
			for l := range entryLines(tr) {
				r.addLine(e, l)
			}
			return
		}
	}
	st := r.slotOf(e.Labels)
	defer r.remember(st, e, line)
	if b := st.open; b != nil {
		switch {
		case r.Gap > 0 && e.Time.Sub(b.last) > r.Gap:
			r.stats.GapSplits++
			r.close(st)
		case b.prefaced && b.foreign > 0 && r.open(st, e, line):
			// pkg/errors' stacks of two errors logged one after the
			// other: the second's message line was foreign to the first.
			return
		case b.parser.Continue(b.lines, line):
			r.extend(b, e, line)
			return
		default:
			// Not part of the trace: either the trace ended, or another
			// writer of the same stream (a goroutine still logging while
			// the runtime prints the panic, stdout merged with stderr) got
			// a line in between. Keep the block open for a few such lines.
			if r.open(st, e, line) {
				return
			}
			b.foreign++
			if b.foreign > r.MaxForeign {
				r.close(st)
			}
			return
		}
	}
	r.open(st, e, line)
}

// Foreign reports whether AddRefused of an entry of the stream of labels
// at t, whose line is held escaped in raw, would only count it: its stream
// has no open block, or the block has been quiet longer than Gap, or the
// block's parser does not continue the line (MaxForeign such lines close
// the block). raw is the content of the JSON string holding the line, on
// the terms of stack.EscapedContinuer (ASCII, no \uXXXX or \n escape);
// false may be wrong, true is not. A source asks it before decoding a line
// its gate refused (telemetry.ForeignGate): in a crash storm, the lines
// after each trace, which its stream's open block must see before it
// closes, were as many as the traces' own lines, most of them escaped.
func (r *Reassembler) Foreign(labels map[string]string, t time.Time, raw string) bool {
	b := r.slotOf(labels).open
	if b == nil || r.Gap > 0 && t.Sub(b.last) > r.Gap {
		return true
	}
	// The runtime prefix holds nothing JSON escapes: it is in raw as it
	// is in the line.
	return !stack.MayContinueEscaped(b.parser, b.lines, stripRuntimePrefix(trimEscapedEOL(raw)))
}

// Continues reports whether line, the next entry of the stream labels at
// t, only extends the stream's open block: Add then opens no block with
// it, so a line that starts a trace behind its message (stack.Prefaced,
// stack.OptionallyPrefaced) needs no line before. False when unsure: an
// entry of several lines, one that may hold a trace in JSON, logfmt or
// escaped breaks, a block a foreign line interrupted.
func (r *Reassembler) Continues(labels map[string]string, t time.Time, line string) bool {
	line = trimEOL(line)
	if line == "" || line[0] == '{' || strings.IndexByte(line, '\n') >= 0 || mayHoldLogfmtTrace(line) ||
		strings.Contains(line, escapedBreak) {
		return false
	}
	b := r.slotOf(labels).open
	if b == nil || r.Gap > 0 && t.Sub(b.last) > r.Gap || b.prefaced && b.foreign > 0 {
		return false
	}
	return b.parser.Continue(b.lines, stripRuntimePrefix(line))
}

// AddForeign is AddRefused for an entry Foreign reported as only counted:
// it counts it against its stream's open block, without its line.
func (r *Reassembler) AddForeign(labels map[string]string, t time.Time) {
	r.stats.Events++
	st := r.slotOf(labels)
	st.prev = "" // as remember does for a borrowed line
	b := st.open
	switch {
	case b == nil:
	case r.Gap > 0 && t.Sub(b.last) > r.Gap:
		r.stats.GapSplits++
		r.close(st)
	default:
		b.foreign++
		if b.foreign > r.MaxForeign {
			r.close(st)
		}
	}
}

// remember keeps line as the stream's previous line.
func (r *Reassembler) remember(st *slot, e incident.Event, line string) {
	if r.borrowed {
		st.prev = "" // valid only during the call; the source gives Before
		return
	}
	st.prevIndented = st.prev != "" && indented(st.prev)
	st.prev, st.prevAt, st.prevSkips = line, e.Time, r.skips
}

// indented reports whether line starts with a tab or a space, as the
// frame lines of every runtime's traces do.
func indented(line string) bool { return line != "" && (line[0] == '\t' || line[0] == ' ') }

// preface returns the line before e in its stream, when it is known (the
// source's Before, else the stream's last line fed, if no entry was
// skipped since and it is recent), and whether the line before that was
// indented.
func (r *Reassembler) preface(st *slot, e incident.Event) (string, bool) {
	if e.Before != "" {
		older, last, two := strings.Cut(e.Before, "\n")
		if !two {
			return stripRuntimePrefix(older), false
		}
		return stripRuntimePrefix(last), indented(stripRuntimePrefix(older))
	}
	if st.prev == "" || st.prevSkips != r.skips || (r.Gap > 0 && e.Time.Sub(st.prevAt) > r.Gap) {
		return "", false
	}
	return st.prev, st.prevIndented
}

// Candidate reports whether Add could do more with line than count it when
// its stream has no open block (see Starts.Candidate). It reads only the
// parsers, so a source may call it from several goroutines (see
// telemetry.Gate).
func (r *Reassembler) Candidate(line string) bool { return r.Starts().Candidate(line) }

// CandidateEscaped is Candidate for a line still escaped inside a JSON
// string (see Starts.CandidateEscaped).
func (r *Reassembler) CandidateEscaped(raw string) bool { return r.Starts().CandidateEscaped(raw) }

// Starts returns what Candidate and CandidateEscaped ask, for the Parsers
// the Reassembler has now: give it to the goroutines that gate a source's
// entries, rather than the Reassembler itself (see Starts).
func (r *Reassembler) Starts() *Starts {
	if r.starts.same(r.Parsers) {
		return r.starts
	}
	return NewStarts(r.Parsers) // Parsers changed after New
}

// trimEOL is strings.TrimRight(line, "\r\n") without the cut set: it is
// asked of every entry fed.
func trimEOL(line string) string {
	for n := len(line); n > 0 && (line[n-1] == '\n' || line[n-1] == '\r'); n = len(line) {
		line = line[:n-1]
	}
	return line
}

// trimEscapedEOL is strings.TrimRight(line, "\r\n") on the escaped form:
// it drops trailing \r and \n escapes (and not a "\\" followed by an n).
func trimEscapedEOL(raw string) string {
	for n := len(raw); n >= 2 && (raw[n-1] == 'r' || raw[n-1] == 'n'); n = len(raw) {
		slashes := 0
		for i := n - 2; i >= 0 && raw[i] == '\\'; i-- {
			slashes++
		}
		if slashes%2 == 0 {
			break
		}
		raw = raw[:n-2]
	}
	return raw
}

// Idle reports whether the stream of labels has no open block, so that an
// entry Candidate refused would change nothing but the count.
func (r *Reassembler) Idle(labels map[string]string) bool {
	return r.openBlocks == 0 || r.slotOf(labels).open == nil
}

// Skipped counts an entry that was not fed because Candidate refused it
// and its stream was Idle: Add would only have counted it.
func (r *Reassembler) Skipped() { r.stats.Events++; r.skips++ }

// extend appends a continuation line to an open block, within its bounds.
func (r *Reassembler) extend(b *block, e incident.Event, line string) {
	b.last = e.Time
	b.foreign = 0
	if len(b.lines) >= r.MaxLines || b.bytes+len(line) > maxBlockBytes {
		if !b.cut {
			b.cut = true
			r.stats.Truncated++
		}
		return
	}
	b.lines = append(b.lines, r.keep(b, line))
	b.bytes += len(line)
}

// open starts a block when a parser recognises line as the start of a trace,
// closing the stream's open block first.
func (r *Reassembler) open(st *slot, e incident.Event, line string) bool {
	if r.refused {
		return false // Candidate refused it: no parser starts a trace with it
	}
	for _, p := range r.Parsers {
		if !p.Start(line) {
			continue
		}
		var pre string
		if pf, ok := p.(stack.Prefaced); ok && pf.NeedsPreface(line) {
			var afterIndented bool
			pre, afterIndented = r.preface(st, e)
			if pre == "" || !pf.IsPreface(pre, afterIndented) {
				continue
			}
		} else if op, ok := p.(stack.OptionallyPrefaced); ok && op.MayTakePreface(line) {
			if prev, _ := r.preface(st, e); prev != "" && op.TakesPreface(prev) {
				pre = prev
			}
		}
		if st.open != nil {
			r.close(st)
		}
		b := &block{
			parser: p, lines: make([]string, 0, 16), bytes: len(line),
			start: e.Time, last: e.Time, labels: e.Labels, origin: e.Origin, prefaced: pre != "",
		}
		if pre != "" {
			b.lines = append(b.lines, b.keep(pre))
		}
		b.lines = append(b.lines, r.keep(b, line))
		st.open = b
		r.openBlocks++
		r.stats.OpenStreams = max(r.stats.OpenStreams, r.openBlocks)
		return true
	}
	return false
}

// Flush closes every open block and returns once their traces are
// emitted; call it at the end of a batch.
func (r *Reassembler) Flush() {
	for _, st := range r.slots {
		if st.open != nil {
			r.close(st)
		}
	}
	r.Wait()
}

// CloseIdle closes the blocks whose stream has been quiet longer than Gap
// before now, so a live tail emits a crash without waiting for the next line.
func (r *Reassembler) CloseIdle(now time.Time) {
	for _, st := range r.slots {
		if st.open != nil && now.Sub(st.open.last) > r.Gap {
			r.close(st)
		}
	}
}

// close ends the open block of st and emits its trace, or has the closer
// do it.
func (r *Reassembler) close(st *slot) {
	b := st.open
	st.open = nil
	r.openBlocks--
	if r.closer != nil {
		r.closer.add(r, b)
		return
	}
	r.emitBlock(b, &r.stats)
}

// emitBlock parses a closed block and emits its trace, counting it in st.
func (r *Reassembler) emitBlock(b *block, st *Stats) {
	tr := b.parser.Parse(b.lines)
	if b.cut {
		tr.Problems = append(tr.Problems, "trace cut: more lines than the reassembler keeps")
	}
	if len(tr.Frames) == 0 || stack.DiagnosticStack(tr) {
		// Nothing to locate, or a stack printed for diagnosis (a process
		// warning's, debug.Stack() outside a panic): not a failure.
		st.Frameless++
		return
	}
	st.Traces++
	r.emit(Occurrence{
		Time:     b.start,
		Labels:   b.labels,
		Trace:    tr,
		TraceIDs: traceIDsInLines(b.lines),
		Origin:   b.origin,
	})
}
