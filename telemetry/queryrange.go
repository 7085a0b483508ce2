package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// streamEntry is one entry of a query_range (or tail) stream.
type streamEntry struct {
	ts   time.Time
	line string
	bad  string // why the value could not be read; empty when fine
	cut  bool   // the line was longer than MaxLineBytes and was cut
	idx  int    // position in the response, for messages
}

// UnmarshalJSON reads ["<unix ns>", "<line>"] or, with structured metadata,
// ["<unix ns>", "<line>", {...}] (the object is not read). It never fails, so one bad value is
// counted and skipped instead of aborting the whole document.
func (e *streamEntry) UnmarshalJSON(b []byte) error {
	if t, line, ok := fastStreamEntry(b); ok {
		e.ts = t
		e.line, e.cut = truncateString(line)
		return nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) < 2 {
		e.bad = "value is not [timestamp, line]"
		return nil
	}
	var ts string
	if json.Unmarshal(parts[0], &ts) != nil {
		e.bad = "timestamp is not a string"
		return nil
	}
	t, ok := unixNano(ts)
	if !ok {
		e.bad = fmt.Sprintf("bad timestamp %.40q", ts)
		return nil
	}
	if json.Unmarshal(parts[1], &e.line) != nil {
		e.bad = "line is not a string"
		return nil
	}
	e.ts = t
	e.line, e.cut = truncateString(e.line)
	return nil
}

// fastStreamEntry reads the shape nearly every value has,
// ["<unix ns>","<line>"], in one pass: through encoding/json each value
// cost three decodes, most of a Loki poll's time. Anything else (a third
// element, escapes in the timestamp, a bad timestamp) returns false and
// UnmarshalJSON reads it, or says what is wrong with it, the general way.
func fastStreamEntry(b []byte) (time.Time, string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return time.Time{}, "", false
	}
	tsTok, next, ok := plainString(b, skipSpace(b, i+1))
	if !ok {
		return time.Time{}, "", false
	}
	t, ok := unixNano(string(tsTok))
	if !ok {
		return time.Time{}, "", false
	}
	i = skipSpace(b, next)
	if i >= len(b) || b[i] != ',' {
		return time.Time{}, "", false
	}
	line, end, ok := decodeString(b, skipSpace(b, i+1))
	if !ok {
		return time.Time{}, "", false
	}
	i = skipSpace(b, end)
	if i < len(b) && b[i] == ',' && categories(b, skipSpace(b, i+1)) {
		return t, line, true
	}
	if i >= len(b) || b[i] != ']' || skipSpace(b, i+1) != len(b) {
		return time.Time{}, "", false
	}
	return t, line, true
}

// categories reports whether b[i:] is the rest of a value a categorized
// response writes, `{...}]`: the entry's structured metadata and parsed
// labels (asked for with X-Loki-Response-Encoding-Flags:
// categorize-labels), which no reader needs. The Decoder hands
// UnmarshalJSON only valid JSON, so an object that ends right before the
// value's last bracket is the third element whole.
func categories(b []byte, i int) bool {
	if i >= len(b) || b[i] != '{' {
		return false
	}
	j := len(b) - 1
	for j > i && isSpace(b[j]) {
		j--
	}
	if b[j] != ']' {
		return false
	}
	j--
	for j > i && isSpace(b[j]) {
		j--
	}
	return j > i && b[j] == '}'
}

// lokiStream is one element of data.result in a streams response.
type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values []streamEntry     `json:"values"`
}

// streamVisitor receives what decodeQueryRange reads. entry is called per
// stream in ascending time order; bad for every value that was skipped.
type streamVisitor struct {
	entry func(labels map[string]string, e streamEntry) error
	bad   func(where, reason string)
	cut   func(where string)
	// forward says how to read a response none of whose streams shows its
	// direction (each holds entries of one timestamp): as asked with
	// direction=forward (the client's own queries) or, when false, as
	// Loki's default, backward (a response someone saved).
	forward bool
}

// errNotStreams says a response held metrics, not log lines.
var errNotStreams = errors.New("response is not a log stream result")

// decodeQueryRange walks a Loki query_range response with a streaming
// decoder: only one stream's values are held at a time, so a saved response
// of gigabytes reads in constant memory per stream. Values of each stream
// are sorted ascending (a response saved with direction=backward is
// descending). An error status, a metric result or broken JSON is an error;
// a single unreadable value is reported through v.bad.
func decodeQueryRange(r io.Reader, v streamVisitor) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var status, errMsg string
	sawData := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		switch key {
		case "status":
			err = dec.Decode(&status)
		case "error":
			err = dec.Decode(&errMsg)
		case "data":
			sawData = true
			err = decodeData(dec, v)
		default:
			err = dec.Decode(&json.RawMessage{})
		}
		if err != nil {
			return syntaxErr(err)
		}
	}
	if status != "" && status != "success" {
		return fmt.Errorf("query failed: status %q: %s", status, errMsg)
	}
	if !sawData {
		return errors.New(`response has no "data"`)
	}
	return nil
}

func decodeData(dec *json.Decoder, v streamVisitor) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		switch key {
		case "resultType":
			var rt string
			if err := dec.Decode(&rt); err != nil {
				return err
			}
			if rt != "streams" {
				return fmt.Errorf("%w: resultType %q", errNotStreams, rt)
			}
		case "result":
			if err := decodeResult(dec, v); err != nil {
				return err
			}
		default:
			if err := dec.Decode(&json.RawMessage{}); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func decodeResult(dec *json.Decoder, v streamVisitor) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // "result": null, as some proxies and old versions send for no match
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("expected %q, found %v", '[', tok)
	}
	// Every stream of a response lists its values in the response's one
	// direction. A stream whose values share one timestamp does not show
	// it; such streams (of more than one value: one value has no order)
	// wait for one that does, or for the end. (A stream that shows its own
	// order is read in it: a hand-merged file may mix.)
	dir := 0 // 1 forward, -1 backward, 0 not known yet
	var waiting []int
	var held []lokiStream
	for i := 0; dec.More(); i++ {
		var s lokiStream
		if err := dec.Decode(&s); err != nil {
			return err
		}
		d := direction(s.Values)
		if d == 0 && dir == 0 {
			if len(s.Values) > 1 {
				waiting, held = append(waiting, i), append(held, s)
				continue
			}
			if err := visitStream(i, s, false, v); err != nil {
				return err
			}
			continue
		}
		if dir == 0 {
			dir = d
			for k, w := range held {
				if err := visitStream(waiting[k], w, dir < 0, v); err != nil {
					return err
				}
			}
			waiting, held = nil, nil
		}
		if d == 0 {
			d = dir
		}
		if err := visitStream(i, s, d < 0, v); err != nil {
			return err
		}
	}
	for k, w := range held {
		if err := visitStream(waiting[k], w, !v.forward, v); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

// direction tells a stream's order from its first and last readable
// values: 1 oldest first, -1 newest first, 0 when they share a time.
func direction(vs []streamEntry) int {
	first, last := 0, len(vs)-1
	for first < last && vs[first].bad != "" {
		first++
	}
	for last > first && vs[last].bad != "" {
		last--
	}
	switch {
	case last <= first:
		return 0
	case vs[first].ts.Before(vs[last].ts):
		return 1
	case vs[first].ts.After(vs[last].ts):
		return -1
	}
	return 0
}

func visitStream(i int, s lokiStream, backward bool, v streamVisitor) error {
	for j := range s.Values {
		s.Values[j].idx = j
	}
	for _, e := range s.Values { // in the document's order
		if e.bad != "" {
			v.bad(fmt.Sprintf("result[%d].values[%d]", i, e.idx), e.bad)
		}
	}
	ascending(s.Values, backward)
	for _, e := range s.Values {
		where := fmt.Sprintf("result[%d].values[%d]", i, e.idx)
		if e.bad != "" {
			continue
		}
		if e.cut {
			v.cut(where)
		}
		if err := v.entry(s.Stream, e); err != nil {
			return err
		}
	}
	return nil
}

// ascending puts a stream's values in the order they were written. A
// response of direction=backward lists them newest first, and the entries
// that share a nanosecond in the reverse of the order they were pushed
// (Loki's backward order is the exact reverse of its forward order): a
// stable sort alone would keep those reversed, so the lines of a trace
// stamped with one time (a shipper stamping to the millisecond or the
// second) would come back upside down. A backward stream is reversed
// first; a stable sort then settles whatever is still out of order.
func ascending(vs []streamEntry, backward bool) {
	if backward {
		for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
			vs[i], vs[j] = vs[j], vs[i]
		}
	}
	before := func(a, b int) bool { return vs[a].ts.Before(vs[b].ts) }
	if !sort.SliceIsSorted(vs, before) {
		sort.SliceStable(vs, before)
	}
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	if tok != d {
		return fmt.Errorf("expected %q, found %v", d, tok)
	}
	return nil
}

// syntaxErr makes a cut-off document say so rather than "unexpected EOF".
func syntaxErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("truncated JSON: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// readQueryRange delivers the entries of a saved query_range response.
//
// A response Loki 3 was not asked to categorize lists an entry's
// structured metadata among its stream's labels, so one stream comes as
// several results, one per detected_level (see NormalizeLabels): the
// entries of such results are held until the end and delivered merged in
// time order, each stream's parts together. (Entries of two parts that
// share a nanosecond keep the order of the parts: the response does not
// say which was written first.) Other results are delivered as read.
func (r *reader) readQueryRange(in io.Reader) error {
	cache := map[string]map[string]string{}
	held := map[string][]incident.Event{} // by the normalised stream
	var heldOrder []string
	err := decodeQueryRange(in, streamVisitor{
		entry: func(labels map[string]string, e streamEntry) error {
			key := incident.LabelsKey(labels)
			norm, ok := cache[key]
			if !ok {
				norm = NormalizeLabels(labels)
				cache[key] = norm
			}
			ev := incident.Event{Time: e.ts, Labels: norm, Line: e.line, Origin: r.origin}
			if _, part := labels[detectedLevel]; part {
				k := incident.LabelsKey(norm)
				if _, ok := held[k]; !ok {
					heldOrder = append(heldOrder, k)
				}
				held[k] = append(held[k], ev)
				return nil
			}
			return r.deliver(ev)
		},
		bad: func(where, reason string) { r.malformed(r.origin+": "+where, "%s", reason) },
		cut: func(where string) { r.truncated(r.origin + ": " + where) },
	})
	if err == nil {
		err = r.deliverHeld(held, heldOrder)
	}
	if r.stopped {
		return err
	}
	return syntaxErr(err)
}

// deliverHeld delivers each stream's held entries in time order.
func (r *reader) deliverHeld(held map[string][]incident.Event, order []string) error {
	for _, k := range order {
		evs := held[k]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
		labels := evs[0].Labels // one map for the stream, as for others
		for _, ev := range evs {
			ev.Labels = labels
			if err := r.deliver(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
