package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/faultline-dev/faultline/incident"
)

// Reading a logcli jsonl file forwards is split over the cores: one
// goroutine cuts the input into chunks of whole lines, workers check and
// decode the chunks' entries in parallel, and Fetch's own goroutine hands
// them to fn in file order. The order of delivery, the line numbers in
// messages and the counts are those of a plain line-by-line read.
const (
	// chunkSize is the input one worker takes at a time: large enough that
	// handing chunks around costs nothing per line, small enough that the
	// chunks in flight stay a few MiB.
	chunkSize = 256 << 10
	// maxJSONLWorkers bounds the decoding goroutines; past a few, the
	// single consumer is the limit.
	maxJSONLWorkers = 4
	// lookahead is how many chunks may be cut ahead of the one the
	// consumer delivers. With a lookahead of two chunks per worker, the
	// workers ran out of work whenever the consumer waited for a core, and
	// the pipeline used 1.75 of 2 cores; 8 was 17-20% faster (fastest of
	// six runs each), 16 and 32 no better than 8. (Workers reading their
	// own chunks in turns, so that the bytes they decode are in their
	// core's cache, were 2-5% faster on the crash storm but 5% slower on
	// the production-like mix, where reading ahead matters: the cutter
	// stays.)
	lookahead = 8
)

type recKind uint8

const (
	recBlank     recKind = iota // an empty line
	recEvent                    // the chunk's events[lo] is the whole entry
	recPlain                    // the Gate's Candidate refused the line: buf[lo:hi] is the line's JSON string
	recMalformed                // the chunk's problems[lo] says why
	recTruncated                // a line longer than MaxLineBytes
)

// jsonlRec is what a worker found on one line. It is 32 bytes: a chunk
// holds a thousand of them, written by a worker and read by the consumer
// on another core, and a record holding a whole Event was three times the
// size; the rare entries that are more than a refused line keep their
// Event or problem beside the records.
type jsonlRec struct {
	kind recKind
	// esc and nonASCII are scanString's findings on a recPlain line.
	esc      escapes
	nonASCII bool
	// decoded is set on a recPlain line the worker decoded: text[lo:hi]
	// of the chunk is its content.
	decoded bool
	nsec    int32 // a recPlain entry's time: Unix seconds and nanoseconds
	lo, hi  int32
	sec     int64
	labels  map[string]string // a recPlain entry's labels
}

// time returns a recPlain entry's time.
func (rec *jsonlRec) time() time.Time { return time.Unix(rec.sec, int64(rec.nsec)).UTC() }

// jsonlChunk is a run of whole lines and, once a worker closes done, one
// record per line.
type jsonlChunk struct {
	buf      []byte
	recs     []jsonlRec
	text     []byte // the content of the recPlain lines decoded by the worker
	events   []incident.Event
	problems []string
	done     chan struct{}
}

// event adds a record of the whole entry ev.
func (c *jsonlChunk) event(ev incident.Event) {
	c.recs = append(c.recs, jsonlRec{kind: recEvent, lo: int32(len(c.events))})
	c.events = append(c.events, ev)
}

// malformed adds a record of a line that could not be read.
func (c *jsonlChunk) malformed(problem string) {
	c.recs = append(c.recs, jsonlRec{kind: recMalformed, lo: int32(len(c.problems))})
	c.problems = append(c.problems, problem)
}

// readJSONLParallel reads logcli jsonl lines from src and returns the
// bytes read.
func (r *reader) readJSONLParallel(src io.Reader) (int64, error) {
	ctx, cancel := context.WithCancel(r.ctx)
	workers := min(max(runtime.GOMAXPROCS(0), 1), maxJSONLWorkers)
	order := make(chan *jsonlChunk, lookahead)
	work := make(chan *jsonlChunk, lookahead)
	free := make(chan *jsonlChunk, lookahead+2)

	var wg sync.WaitGroup
	var nread int64
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		nread, readErr = cutChunks(ctx, src, free, work, order)
	}()
	shared := &sharedLabels{byRaw: map[string]map[string]string{}}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := jsonlWorker{cache: newLabelCache(), gate: r.q.Gate}
			w.cache.shared = shared
			w.escGate, _ = r.q.Gate.(EscapedGate)
			for c := range work {
				w.decode(c)
				close(c.done)
			}
		}()
	}
	stop := func() {
		cancel()
		for range order { // unblock the cutter; workers finish their chunk
		}
		wg.Wait()
	}

	var where, scratch []byte
	r.borrow, _ = r.q.Gate.(BorrowingGate)
	r.foreign, _ = r.q.Gate.(ForeignGate)
	r.preface, _ = r.q.Gate.(PrefaceGate)
	lineNo := 0
	for c := range order {
		select {
		case <-c.done:
		case <-ctx.Done():
			r.stopped = true
			stop()
			return nread, ctx.Err()
		}
		for i := range c.recs {
			lineNo++
			if err := r.consume(c, i, &where, &scratch, lineNo); err != nil {
				stop()
				return nread, err
			}
		}
		clear(c.recs) // drop the events' strings and label maps
		clear(c.events)
		clear(c.problems)
		c.recs, c.events, c.problems, c.text = c.recs[:0], c.events[:0], c.problems[:0], c.text[:0]
		select {
		case free <- c:
		default:
		}
	}
	stop()
	if err := r.ctx.Err(); err != nil && readErr != nil {
		// The cutter stopped because ctx ended before the consumer saw it.
		r.stopped = true
		return nread, err
	}
	return nread, readErr
}

// consume handles the record i of c in file order.
func (r *reader) consume(c *jsonlChunk, i int, where, scratch *[]byte, lineNo int) error {
	rec := &c.recs[i]
	at := func() string {
		*where = strconv.AppendInt(append(append((*where)[:0], r.origin...), ':'), int64(lineNo), 10)
		return string(*where)
	}
	switch rec.kind {
	case recBlank:
		return nil
	case recMalformed:
		r.malformed(at(), "%s", c.problems[rec.lo])
		return nil
	case recTruncated:
		w := at()
		r.truncated(w)
		r.malformed(w, "entry unreadable after truncation")
		return nil
	case recPlain:
		if err := r.tick(); err != nil {
			return err
		}
		t := rec.time()
		if !r.q.Contains(t) {
			return nil
		}
		if r.q.Gate.Skip(rec.labels, t) {
			r.st.Entries++
			return nil
		}
		if fg := r.foreign; fg != nil && rec.esc != 0 && !rec.decoded && !rec.nonASCII &&
			fg.TakeForeign(rec.labels, t, unsafeString(c.buf[rec.lo+1:rec.hi-1])) {
			// Most such lines follow the end of a trace, whose stream
			// must see them refused before it closes: no need to
			// decode them to tell.
			r.st.Entries++
			return nil
		}
		ev := incident.Event{Time: t, Labels: rec.labels}
		if bg := r.borrow; bg != nil {
			ev.Line, _ = truncateString(unsafeString(c.plainText(rec, scratch)))
			r.st.Entries++
			bg.Take(ev)
			return nil
		}
		ev.Line, _ = truncateString(string(c.plainText(rec, scratch)))
		ev.Origin = at()
		return r.hand(ev)
	default:
		ev := c.events[rec.lo]
		ev.Origin = at()
		if r.preface != nil && r.preface.NeedsPreface(ev.Labels, ev.Time, ev.Line) {
			ev.Before = c.linesBefore(i, ev.Labels, scratch)
		}
		return r.deliver(ev)
	}
}

// plainText returns the content of the recPlain line rec of c: decoded
// into scratch unless the worker did it.
func (c *jsonlChunk) plainText(rec *jsonlRec, scratch *[]byte) []byte {
	if rec.decoded {
		return c.text[rec.lo:rec.hi]
	}
	return lineText(scratch, c.buf[rec.lo:rec.hi], rec.esc, rec.nonASCII)
}

// prefaceLookback is how many records back lineBefore looks for an
// entry of the same stream: other streams' lines may come between.
const prefaceLookback = 16

// linesBefore returns the lines of the last two entries before record i
// of c with the labels labels, oldest first, joined by a line break: those
// within prefaceLookback records of the chunk (see incident.Event.Before).
func (c *jsonlChunk) linesBefore(i int, labels map[string]string, scratch *[]byte) string {
	var found [2]string
	n := 0
	for j := i - 1; j >= 0 && j >= i-prefaceLookback && n < 2; j-- {
		switch rec := &c.recs[j]; rec.kind {
		case recPlain:
			if maps.Equal(rec.labels, labels) {
				found[n], _ = truncateString(string(c.plainText(rec, scratch)))
				n++
			}
		case recEvent:
			if ev := &c.events[rec.lo]; maps.Equal(ev.Labels, labels) {
				found[n] = ev.Line
				n++
			}
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return found[0]
	}
	return found[1] + "\n" + found[0]
}

// cutChunks reads src into chunks of whole lines, in order, until EOF. A
// line longer than MaxLineBytes becomes a chunk of its own holding only its
// first MaxLineBytes+1 bytes, which the worker reports as truncated.
func cutChunks(ctx context.Context, src io.Reader, free, work, order chan *jsonlChunk) (int64, error) {
	var n int64
	var carry []byte
	send := func(c *jsonlChunk) bool {
		select {
		case order <- c:
		case <-ctx.Done():
			return false
		}
		select {
		case work <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		var c *jsonlChunk
		select {
		case c = <-free:
		default:
			c = &jsonlChunk{}
		}
		c.done = make(chan struct{})
		if cap(c.buf) != chunkSize {
			c.buf = make([]byte, 0, chunkSize)
		}
		buf := append(c.buf[:0], carry...)
		carry = carry[:0]
		for {
			k, err := fill(src, buf[len(buf):cap(buf)])
			n += int64(k)
			buf = buf[:len(buf)+k]
			eof := err == io.EOF
			if err != nil && !eof {
				// Deliver the whole lines read before the failure.
				if p := bytes.LastIndexByte(buf, '\n'); p >= 0 {
					c.buf = buf[:p+1]
					send(c)
				}
				return n, err
			}
			if eof {
				if len(buf) == 0 {
					return n, nil
				}
				c.buf = buf
				if !send(c) {
					return n, ctx.Err()
				}
				return n, nil
			}
			if p := bytes.LastIndexByte(buf, '\n'); p >= 0 {
				carry = append(carry, buf[p+1:]...)
				c.buf = buf[:p+1]
				break
			}
			if len(buf) > MaxLineBytes {
				// One line longer than any kept whole: skip to its end.
				rest, k, err := discardLine(src)
				n += k
				if err != nil && err != io.EOF {
					return n, err
				}
				carry = append(carry, rest...)
				c.buf = buf[:MaxLineBytes+1]
				break
			}
			grown := make([]byte, len(buf), min(2*cap(buf), MaxLineBytes+1))
			copy(grown, buf)
			buf = grown
		}
		if !send(c) {
			return n, ctx.Err()
		}
	}
}

// fill reads into p until it is full or src fails; unlike io.ReadFull it
// returns src's own error (a cut gzip stream is io.ErrUnexpectedEOF, an
// error, while the end of input is io.EOF).
func fill(src io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := src.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// discardLine reads src up to and including the next newline and returns
// what it read after it.
func discardLine(src io.Reader) ([]byte, int64, error) {
	var n int64
	buf := make([]byte, 64<<10)
	for {
		k, err := src.Read(buf)
		n += int64(k)
		if p := bytes.IndexByte(buf[:k], '\n'); p >= 0 {
			return append([]byte(nil), buf[p+1:k]...), n, nil
		}
		if err != nil {
			return nil, n, err
		}
	}
}

// fusedLineBytes bounds how far a worker reads into a chunk for an entry
// before it has found the entry's line end: a malformed line then costs no
// search past it. Longer lines are cut at their line end first.
const fusedLineBytes = 4 << 10

// jsonlWorker decodes chunks; each worker has its own label cache, in front
// of the label sets the read's workers share.
type jsonlWorker struct {
	cache   *labelCache
	gate    Gate
	escGate EscapedGate // gate, when it is one
	scratch []byte
	minute  minuteCache
}

func (w *jsonlWorker) decode(c *jsonlChunk) {
	rest := c.buf
	if len(rest) > MaxLineBytes && bytes.IndexByte(rest, '\n') < 0 {
		c.recs = append(c.recs, jsonlRec{kind: recTruncated})
		return
	}
	for len(rest) > 0 {
		// logcli's shape ends where its object does: when a line end
		// follows, the line's end needed no search of its own.
		if t, end, ok := logcliShape(rest[:min(len(rest), fusedLineBytes)], w.cache, &w.minute); ok {
			next := -1
			switch {
			case end == len(rest):
				next = end
			case rest[end] == '\n':
				next = end + 1
			case rest[end] == '\r' && (end+1 == len(rest) || rest[end+1] == '\n'):
				next = min(end+2, len(rest))
			}
			if next >= 0 {
				w.tokens(c, t)
				rest = rest[next:]
				continue
			}
		}
		line := rest
		next := len(rest)
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, next = rest[:i], i+1
		}
		w.entry(c, bytes.TrimSuffix(line, []byte{'\r'}))
		rest = rest[next:]
	}
}

// entry adds the record of one line of c (without its ending).
func (w *jsonlWorker) entry(c *jsonlChunk, line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		c.recs = append(c.recs, jsonlRec{kind: recBlank})
		return
	}
	t, ok := fastJSONLine(line, w.cache, &w.minute)
	if !ok {
		ev, problem := parseJSONLine(line, w.cache)
		if problem != "" {
			c.malformed(problem)
			return
		}
		c.event(ev)
		return
	}
	w.tokens(c, t)
}

// tokens adds the record of an entry of c read by fastJSONLine.
func (w *jsonlWorker) tokens(c *jsonlChunk, t jsonlTokens) {
	ts, ok := t.time, t.timed
	if !ok {
		ts, ok = w.minute.parseTimestamp(t.ts)
	}
	if !ok {
		c.malformed(fmt.Sprintf("bad timestamp %.40s", t.ts))
		return
	}
	labels := t.known
	if labels == nil {
		if labels, ok = cachedLabels(w.cache, t.labels); !ok {
			c.malformed("labels are not an object of strings")
			return
		}
	}
	tok := t.line
	// Most escaped lines are refused before they are decoded; an entry of
	// several lines, or one with \uXXXX escapes or a backslash, is decoded
	// first.
	if w.escGate != nil && t.esc != 0 && t.esc&(escUnicode|escNewline|escBackslash) == 0 && !w.escGate.CandidateEscaped(unsafeString(tok[1:len(tok)-1])) {
		if indentedEscaped(tok) {
			// Most likely a trace's continuation line, which the
			// consumer will want decoded: the worker's core does it.
			plainDecoded(c, t, ts, labels, lineText(&w.scratch, tok, t.esc, t.nonASCII))
			return
		}
		plain(c, t, ts, labels)
		return
	}
	text := lineText(&w.scratch, tok, t.esc, t.nonASCII)
	if w.gate != nil && !w.gate.Candidate(unsafeString(text)) {
		if t.esc != 0 {
			plainDecoded(c, t, ts, labels, text) // decoded already
			return
		}
		plain(c, t, ts, labels)
		return
	}
	ev := incident.Event{Time: ts, Labels: labels}
	ev.Line, _ = truncateString(string(text))
	c.event(ev)
}

// plain adds the record of an entry the gate refused: its line stays
// undecoded in the chunk unless Skip wants it after all.
func plain(c *jsonlChunk, t jsonlTokens, ts time.Time, labels map[string]string) {
	start := cap(c.buf) - cap(t.line) // t.line is a slice of buf
	c.recs = append(c.recs, jsonlRec{kind: recPlain, lo: int32(start), hi: int32(start + len(t.line)),
		esc: t.esc, nonASCII: t.nonASCII, sec: ts.Unix(), nsec: int32(ts.Nanosecond()), labels: labels})
}

// plainDecoded is plain for an entry whose decoded content is text.
func plainDecoded(c *jsonlChunk, t jsonlTokens, ts time.Time, labels map[string]string, text []byte) {
	lo := len(c.text)
	c.text = append(c.text, text...)
	c.recs = append(c.recs, jsonlRec{kind: recPlain, decoded: true, lo: int32(lo), hi: int32(len(c.text)),
		sec: ts.Unix(), nsec: int32(ts.Nanosecond()), labels: labels})
}

// indentedEscaped reports whether the escaped line token tok (quotes
// included) starts with a tab or a space, as the continuation lines of
// every runtime's traces do.
func indentedEscaped(tok []byte) bool {
	return len(tok) > 3 && (tok[1] == ' ' || tok[1] == '\\' && tok[2] == 't')
}

// lineText returns the decoded content of the checked line token tok
// (quotes included), given what scanString found in it: the content itself
// when it holds no escape and is valid UTF-8, else its decoding into
// scratch (a fast copy between backslashes when it is ASCII without
// \uXXXX escapes).
func lineText(scratch *[]byte, tok []byte, esc escapes, nonASCII bool) []byte {
	content := tok[1 : len(tok)-1]
	switch {
	case esc == 0 && (!nonASCII || utf8.Valid(content)):
		return content
	case esc&escUnicode == 0 && !nonASCII:
		*scratch = appendUnescaped((*scratch)[:0], content)
	default:
		*scratch, _, _ = appendDecoded((*scratch)[:0], tok, 0)
	}
	return *scratch
}

// unsafeString views b as a string for a call that does not keep it.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
