package reassemble

import (
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-logfmt/logfmt"

	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
)

// Field names under which structured loggers put a stack trace, the error
// message and the trace id. Nested names use dots ("error.stack" also matches
// {"error":{"stack":...}}).
var (
	stackFields = []string{"stack", "stacktrace", "stack_trace", "stackTrace", "exception.stacktrace",
		"error.stack", "err.stack", "error.stacktrace", "exc_info", "traceback", "exception", "error.stack_trace", "errorVerbose",
		"thrown.extendedStackTrace"}
	messageFields = []string{"error", "err", "panic", "exception.message", "error.message", "err.message", "msg", "message"}
	typeFields    = []string{"exception.type", "error.type", "error.kind", "exc_type"}
	traceFields   = []string{"trace_id", "traceID", "traceId", "trace.id", "otelTraceID", "dd.trace_id", "traceparent"}
	levelFields   = []string{"level", "lvl", "severity", "levelname", "log.level"}
	// Docker's json-file driver and some agents wrap the raw line.
	wrapperFields = []string{"log"}
)

// mayHoldTrace reports whether line has a key without which a JSON line
// cannot hold a trace or a caller location this package reads: one
// starting with "stack" (stack, stacktrace, stack_trace, stackTrace),
// "exception", "errorVerbose" (zap's %+v of an error) or
// "error.stack"/"err.stack", or exactly "exc_info", "traceback", "thrown", "log",
// "error" or "err"; or a zap-style "caller" on an error-level line; or,
// whatever its keys, a value where an escaped line break is followed by a
// tab or two spaces, as the frame lines of every runtime's trace are (a
// logger that puts the whole panic into "msg": net/http's ErrorLog over
// slog). Every structured line of a log passes here, so it visits each
// quote once and looks only at the hints that start with the byte after
// it.
func mayHoldTrace(line string) bool { return holdsTraceKey(line, `"`) }

// mayHoldTraceEscaped is mayHoldTrace for a line still escaped inside a
// JSON string: every quote of the line is there as \", so the byte after
// each quote is the same, and a key's closing quote is \". raw holds no
// escaped backslash (see telemetry.EscapedGate), so the line holds no
// escaped line break: hasFrameBreak is not asked, which spares a search
// through raw's many backslashes.
func mayHoldTraceEscaped(raw string) bool { return holdsTraceKey(raw, `\"`) }

// holdsTraceKey is mayHoldTrace with q the form of the line's quotes. It
// visits only the quotes followed by a byte some key starts with.
func holdsTraceKey(line, q string) bool {
	caller := false
	for i := 0; ; {
		k := indexKeyQuote(line[i:])
		if k < 0 {
			break
		}
		k += i
		switch traceKeyAt(line[k+1:], q) {
		case keyTrace:
			return true
		case keyCaller:
			caller = true
		}
		i = k + 1
	}
	// zap's caller counts only on error-level lines.
	if caller && (strings.Contains(line, "rror") || strings.Contains(line, "atal") || strings.Contains(line, "anic")) {
		return true
	}
	return q == `"` && hasFrameBreak(line)
}

// hasFrameBreak reports whether line, JSON, holds an escaped line break
// followed by a tab or two spaces: "\n\t" or "\n  ".
func hasFrameBreak(line string) bool {
	for i := 0; ; {
		k := strings.Index(line[i:], `\n`)
		if k < 0 {
			return false
		}
		k += i + 2
		if strings.HasPrefix(line[k:], `\t`) || strings.HasPrefix(line[k:], "  ") {
			return true
		}
		i = k
	}
}

// indexKeyQuoteGeneric is indexKeyQuote with strings.IndexByte.
func indexKeyQuoteGeneric(s string) int {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return -1
		}
		k := i + j
		if k+1 < len(s) && keyByte(s[k+1]) {
			return k
		}
		i = k + 1
	}
}

type traceKey uint8

// keyByte reports whether c starts one of mayHoldTrace's keys.
func keyByte(c byte) bool { return c == 's' || c == 'e' || c == 't' || c == 'l' || c == 'c' }

const (
	keyNone traceKey = iota
	keyTrace
	keyCaller
)

// traceKeyAt says whether rest, what follows a quote, starts one of
// mayHoldTrace's keys.
func traceKeyAt(rest, q string) traceKey {
	key := func(name string) bool {
		return strings.HasPrefix(rest, name) && strings.HasPrefix(rest[len(name):], q)
	}
	if rest == "" {
		return keyNone
	}
	switch rest[0] {
	case 's':
		if strings.HasPrefix(rest, "stack") {
			return keyTrace
		}
	case 'e':
		if strings.HasPrefix(rest, "exception") || key("exc_info") || strings.HasPrefix(rest, "errorVerbose") ||
			strings.HasPrefix(rest, "error.stack") || strings.HasPrefix(rest, "err.stack") ||
			key("error") || key("err") {
			return keyTrace
		}
	case 't':
		if key("traceback") || key("thrown") {
			return keyTrace
		}
	case 'l':
		if key("log") {
			return keyTrace
		}
	case 'c':
		if key("caller") {
			return keyCaller
		}
	}
	return keyNone
}

// structured reads a JSON log line. It returns true when the line was fully
// handled (a trace emitted, or the wrapped raw line fed on).
func (r *Reassembler) structured(e incident.Event, line string) bool {
	var obj map[string]any
	if err := json.Unmarshal([]byte(line), &obj); err != nil {
		return false
	}
	for _, f := range wrapperFields {
		if s, ok := lookup(obj, f).(string); ok && len(obj) <= 4 {
			inner := e
			inner.Line = s
			r.stats.Events-- // the inner line is counted again
			r.Add(inner)
			return true
		}
	}
	return r.fromObject(e, obj)
}

// fromObject reads the fields of a structured log line: a trace in a stack
// field or in a message field, else a caller location. It returns true
// when it emitted a trace.
func (r *Reassembler) fromObject(e incident.Event, obj map[string]any) bool {
	// A traceback logged as data (structlog's dict_tracebacks, log4j2's
	// JsonLayout) reads as the text it stands for.
	lines := dictTraceback(obj)
	if lines == nil {
		lines = thrownTrace(obj)
	}
	if lines == nil {
		stackText := firstString(obj, stackFields)
		if !strings.Contains(stackText, "\n") {
			// A logger given the whole crash as its message (net/http's
			// ErrorLog over slog puts "http: panic serving ...\ngoroutine 7
			// [running]:\n..." into "msg").
			stackText = multilineString(obj, messageFields)
		}
		if stackText != "" && strings.Contains(stackText, "\n") {
			lines = strings.Split(strings.TrimRight(stackText, "\n"), "\n")
			for i := range lines {
				lines[i] = strings.TrimRight(lines[i], "\r")
			}
		}
	}
	if lines != nil {
		if tr, p, ok := r.parseStructured(lines); ok {
			fillMessage(&tr, p, obj)
			r.stats.Structured++
			r.stats.Traces++
			r.emit(Occurrence{Time: e.Time, Labels: e.Labels, Trace: tr, TraceIDs: traceIDsInObject(obj), Origin: e.Origin})
			return true
		}
	}
	if tr, ok := callerTrace(obj); ok {
		r.stats.Structured++
		r.stats.Traces++
		r.emit(Occurrence{Time: e.Time, Labels: e.Labels, Trace: tr, TraceIDs: traceIDsInObject(obj), Origin: e.Origin})
		return true
	}
	return false
}

// logfmtPrefixes open the lines of the loggers that write logfmt: slog's
// TextHandler and logrus ("time="), go-kit and zerolog's console writer
// ("ts=", "level=", "t=", "lvl=").
var logfmtPrefixes = []string{"time=", "level=", "ts=", "t=", "lvl="}

// mayHoldLogfmtTrace reports whether line is a logfmt line that may hold
// a trace: a value quoted with escapes, where an escaped line break is
// followed by a tab or two spaces (slog's TextHandler and logrus quote a
// stack attribute so: stack="goroutine 7 [running]:\n...\n\t/app/x.go:12").
func mayHoldLogfmtTrace(line string) bool {
	if len(line) < 2 || line[0] < 'a' || line[0] > 'z' {
		return false
	}
	for _, p := range logfmtPrefixes {
		if strings.HasPrefix(line, p) {
			return hasFrameBreak(line)
		}
	}
	return false
}

// logfmtLine reads a logfmt line that mayHoldLogfmtTrace accepted, as
// structured reads a JSON one.
func (r *Reassembler) logfmtLine(e incident.Event, line string) bool {
	d := logfmt.NewDecoder(strings.NewReader(line))
	if !d.ScanRecord() {
		return false
	}
	obj := map[string]any{}
	for d.ScanKeyval() {
		obj[string(d.Key())] = string(d.Value())
	}
	if d.Err() != nil {
		return false
	}
	return r.fromObject(e, obj)
}

// parseStructured finds the language of a stack taken from one field: a
// parser that would open a block on its first line, else one that recognises
// the frames alone.
func (r *Reassembler) parseStructured(lines []string) (incident.Trace, stack.Parser, bool) {
	for _, p := range r.Parsers {
		if p.Start(lines[0]) {
			if tr := p.Parse(lines); len(tr.Frames) > 0 {
				return tr, p, true
			}
		}
	}
	for _, p := range r.Parsers {
		if p.Detect(lines) {
			if tr := p.Parse(lines); len(tr.Frames) > 0 {
				return tr, p, true
			}
		}
	}
	return incident.Trace{}, nil, false
}

// fillMessage gives a headerless stack (zap's "stacktrace" holds frames
// only) the error message and type logged beside it.
func fillMessage(tr *incident.Trace, p stack.Parser, obj map[string]any) {
	msg := firstLine(firstString(obj, messageFields))
	if tr.Message == "" {
		tr.Message = msg
	}
	if tr.ErrorType != "" {
		return
	}
	if t := firstString(obj, typeFields); t != "" {
		tr.ErrorType = t
		return
	}
	if c, ok := p.(stack.Classifier); ok {
		if t := c.ErrorType(tr.Message); t != "" {
			tr.ErrorType = t
			return
		}
	}
	tr.ErrorType = NormalizeMessage(tr.Message)
}

// callerTrace turns an error-level line with a zap-style caller field
// ("cart/cart.go:42") into a one-frame trace: a location even without a stack.
func callerTrace(obj map[string]any) (incident.Trace, bool) {
	caller, _ := lookup(obj, "caller").(string)
	if caller == "" {
		return incident.Trace{}, false
	}
	lvl := strings.ToLower(firstString(obj, levelFields))
	if lvl != "error" && lvl != "fatal" && lvl != "panic" && lvl != "dpanic" && lvl != "critical" {
		return incident.Trace{}, false
	}
	i := strings.LastIndexByte(caller, ':')
	if i <= 0 {
		return incident.Trace{}, false
	}
	n, err := strconv.Atoi(caller[i+1:])
	if err != nil || n <= 0 {
		return incident.Trace{}, false
	}
	file := caller[:i]
	lang := languageOfFile(file)
	if lang == "" {
		return incident.Trace{}, false
	}
	msg := firstLine(firstString(obj, messageFields))
	fn, _ := lookup(obj, "function").(string)
	return incident.Trace{
		Language:  lang,
		ErrorType: NormalizeMessage(msg),
		Message:   msg,
		Frames:    []incident.Frame{{Function: fn, Path: file, Line: n}},
		Problems:  []string{"no stack trace: location from the caller field"},
	}, true
}

func languageOfFile(p string) string {
	switch path.Ext(p) {
	case ".go":
		return "go"
	case ".py":
		return "python"
	case ".js", ".mjs", ".cjs", ".ts":
		return "node"
	case ".java", ".kt":
		return "java"
	}
	return ""
}

// lookup finds a field by name, also as a dotted path into nested objects.
func lookup(obj map[string]any, name string) any {
	if v, ok := obj[name]; ok {
		return v
	}
	head, rest, found := strings.Cut(name, ".")
	if !found {
		return nil
	}
	if inner, ok := obj[head].(map[string]any); ok {
		return lookup(inner, rest)
	}
	return nil
}

func firstString(obj map[string]any, names []string) string {
	for _, n := range names {
		switch v := lookup(obj, n).(type) {
		case string:
			if v != "" {
				return v
			}
		case []any: // some loggers emit the stack as an array of lines
			var parts []string
			for _, x := range v {
				if s, ok := x.(string); ok {
					parts = append(parts, s)
				}
			}
			if len(parts) > 1 {
				return strings.Join(parts, "\n")
			}
		}
	}
	return ""
}

// multilineString returns the first of the fields names whose value is a
// string of several lines.
func multilineString(obj map[string]any, names []string) string {
	for _, n := range names {
		if s, ok := lookup(obj, n).(string); ok && strings.Contains(s, "\n") {
			return s
		}
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[:i], "\r")
	}
	return s
}

var (
	numRe    = regexp.MustCompile(`\b0x[0-9a-fA-F]+\b|\b\d+(\.\d+)?\b`)
	quotedRe = regexp.MustCompile(`"[^"]*"|'[^']*'`)
)

// NormalizeMessage removes request-specific literals (numbers, addresses,
// quoted strings) so that the same error groups together.
func NormalizeMessage(s string) string {
	s = quotedRe.ReplaceAllString(s, `"…"`)
	s = numRe.ReplaceAllString(s, "N")
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(s)
}

var (
	traceIDRe     = regexp.MustCompile(`(?i)\b(?:trace[_.-]?id|traceid)["']?\s*[=:]\s*["']?([0-9a-f]{16,32})\b`)
	traceparentRe = regexp.MustCompile(`\b00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\b`)
)

// traceIDsInLines collects distributed-trace ids printed in a block.
func traceIDsInLines(lines []string) []string {
	var ids []string
	for _, l := range lines {
		if !mayHoldTraceID(l) {
			continue
		}
		for _, m := range traceIDRe.FindAllStringSubmatch(l, -1) {
			ids = appendUnique(ids, strings.ToLower(m[1]))
		}
		for _, m := range traceparentRe.FindAllStringSubmatch(l, -1) {
			ids = appendUnique(ids, m[1])
		}
	}
	return ids
}

// mayHoldTraceID is a cheap test before traceIDRe and traceparentRe: a
// "trace" (any case) followed by an optional separator and "id", or a
// "00-" followed by 32 hex digits and a dash. Every line of every trace
// is asked, and Python's "Traceback" made most of them run the regexps.
func mayHoldTraceID(l string) bool {
	for i := 0; i+len("traceid") <= len(l); i++ {
		if l[i]|0x20 != 't' || !strings.EqualFold(l[i:i+len("trace")], "trace") {
			continue
		}
		rest := l[i+len("trace"):]
		if rest[0] == '_' || rest[0] == '.' || rest[0] == '-' {
			rest = rest[1:]
		}
		if len(rest) >= 2 && rest[0]|0x20 == 'i' && rest[1]|0x20 == 'd' {
			return true
		}
	}
	return hasTraceparent(l)
}

// hasTraceparent reports whether l holds "00-" followed by 32 lower-case
// hex digits and a dash.
func hasTraceparent(l string) bool {
	for i := 0; i < len(l); {
		k := strings.Index(l[i:], "00-")
		if k < 0 {
			return false
		}
		k += i + len("00-")
		if len(l)-k > 32 && l[k+32] == '-' && isHexString(l[k:k+32]) {
			return true
		}
		i = k
	}
	return false
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func traceIDsInObject(obj map[string]any) []string {
	var ids []string
	for _, f := range traceFields {
		s, _ := lookup(obj, f).(string)
		if s == "" {
			continue
		}
		if m := traceparentRe.FindStringSubmatch(s); m != nil {
			s = m[1]
		}
		ids = appendUnique(ids, strings.ToLower(s))
	}
	return ids
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
