package stack

import (
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Node reads V8 stack traces as Node.js prints them for an uncaught
// exception:
//
//	/usr/src/app/index.js:10
//	    return o.x.y;
//	               ^
//
//	TypeError: Cannot read properties of undefined (reading 'y')
//	    at get (/usr/src/app/index.js:10:16)
//	    at async Promise.all (index 0)
//
//	Node.js v20.20.2
//
// and as error.stack is logged ("TypeError: ..." followed by frames), also
// unhandled rejections and old V8 messages. An error's properties block
// ("{ code: 'ENOENT', [cause]: ... }") is part of the trace; a "[cause]"
// with frames becomes the primary trace, like a Java "Caused by", and the
// wrapping error goes to Chain. ErrorType is the class only: V8 messages
// carry property names and values.
type Node struct{}

// Language implements Parser.
func (Node) Language() string { return "node" }

// Start accepts the "/path/file.js:10" location header of an uncaught
// exception, an "XxxError: msg" or "Error [CODE]: msg" header, and the
// unhandled-rejection forms. It allocates nothing.
func (Node) Start(line string) bool {
	if line == "" {
		return false
	}
	switch c := line[0]; {
	case c >= 'A' && c <= 'Z':
		if nodeHeaderClassEnd(line, true) > 0 || nodeIsLocationHeader(line) || nodeIsConsoleTrace(line) ||
			nodeIsWarningHeader(line) {
			return true
		}
		return strings.HasPrefix(line, "Uncaught ") && nodeHeaderClassEnd(line[len("Uncaught "):], true) > 0
	case c == '/' || c == 'f' || c == 'n':
		return nodeIsLocationHeader(line)
	case c == '[':
		return strings.HasPrefix(line, "[UnhandledPromiseRejection") || nodeIsLocationHeader(line)
	case c == '(':
		return strings.HasPrefix(line, "(node:") && (strings.Contains(line, ") UnhandledPromiseRejectionWarning: ") ||
			nodeIsProcessWarning(line))
	}
	return false
}

// nodeIsProcessWarning reports whether line is the header of a process
// warning other than an unhandled rejection: "(node:PID) [DEP0005]
// DeprecationWarning: Buffer() is deprecated ...", "(node:PID)
// MaxListenersExceededWarning: ...". Under --trace-warnings its frames
// follow it. A warning is not an error: its block is read only so that its
// frames are not taken for more frames of the error printed before it, and
// Parse returns it without frames, which the reassembler drops.
func nodeIsProcessWarning(line string) bool {
	if !strings.HasPrefix(line, "(node:") {
		return false
	}
	i := len("(node:")
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == len("(node:") || !strings.HasPrefix(line[i:], ") ") {
		return false
	}
	rest := line[i+2:]
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || !strings.HasPrefix(rest[end+1:], " ") {
			return false
		}
		rest = rest[end+2:]
	}
	name, _, ok := strings.Cut(rest, ": ")
	if !ok || !strings.HasSuffix(name, "Warning") || name == "UnhandledPromiseRejectionWarning" {
		return false
	}
	for j := 0; j < len(name); j++ {
		if !isLetterByte(name[j]) && !(j > 0 && name[j] >= '0' && name[j] <= '9') {
			return false
		}
	}
	return true
}

// nodeIsConsoleTrace reports whether line opens what console.trace()
// prints: "Trace: message" (or "Trace" alone), then the caller's frames. It
// is a diagnostic, not an error; like a process warning its block is read
// only so that its frames are not appended to an error printed before it.
func nodeIsConsoleTrace(line string) bool {
	return strings.HasPrefix(line, "Trace: ") || strings.TrimRight(line, "\r") == "Trace"
}

// nodeIsWarningHeader reports whether line opens a warning's own stack,
// "DeprecationWarning: msg" then frames, as a process.on('warning')
// listener prints it with console.warn(w.stack).
func nodeIsWarningHeader(line string) bool {
	n := nodeHeaderClassEnd(line, false)
	return n > 0 && strings.HasSuffix(line[:n], "Warning")
}

// MayStartEscaped implements EscapedStarter. Error classes and the
// prefixes are plain text; a location header is only required to end in a
// digit and hold no space, since its path may hold an escaped backslash
// (C:\\app\\x.js:10). A line whose first character is escaped may be
// anything.
func (Node) MayStartEscaped(raw string) bool {
	if raw == "" {
		return false
	}
	mayBeLocation := func() bool {
		last := raw[len(raw)-1]
		return last >= '0' && last <= '9' && strings.IndexByte(raw, ' ') < 0
	}
	switch c := raw[0]; {
	case c == '\\':
		return true
	case c >= 'A' && c <= 'Z':
		return nodeHeaderClassEnd(raw, true) > 0 || mayBeLocation() || strings.HasPrefix(raw, "Trace") ||
			nodeIsWarningHeader(raw) ||
			strings.HasPrefix(raw, "Uncaught ") && nodeHeaderClassEnd(raw[len("Uncaught "):], true) > 0
	case c == '/' || c == 'f' || c == 'n':
		return mayBeLocation()
	case c == '[':
		return strings.HasPrefix(raw, "[UnhandledPromiseRejection") || mayBeLocation()
	case c == '(':
		return strings.HasPrefix(raw, "(node:") && (strings.Contains(raw, ") UnhandledPromiseRejectionWarning: ") ||
			strings.Contains(raw, "Warning: "))
	}
	return false
}

// nodeHeaderClassEnd returns the length of the error class opening a
// header line ("TypeError: ...", "Error [ERR_X]: ...", "RangeError"), or 0.
// With strict, the class must end in "Error" or "Exception" (NestJS and
// many frameworks name theirs NotFoundException) or be an unhandled
// rejection; otherwise any identifier followed by ':' counts.
func nodeHeaderClassEnd(line string, strict bool) int {
	i := 0
	for i < len(line) && (isLetterByte(line[i]) || line[i] == '_' || line[i] == '$' ||
		i > 0 && line[i] >= '0' && line[i] <= '9') {
		i++
	}
	if i == 0 {
		return 0
	}
	if i < len(line) && line[i] != ':' && !strings.HasPrefix(line[i:], " [") {
		return 0
	}
	name := line[:i]
	if strict && !strings.HasSuffix(name, "Error") && !(strings.HasSuffix(name, "Exception") && name != "Exception") &&
		name != "UnhandledPromiseRejection" {
		return 0
	}
	return i
}

// nodeIsLocationHeader reports whether line is "path:line" with no spaces,
// as Node prints above the source line of an uncaught exception
// ("/app/index.js:10", "file:///app/x.mjs:3", "node:fs:573", "[eval]:1").
func nodeIsLocationHeader(line string) bool {
	if line == "" {
		return false
	}
	last := line[len(line)-1]
	if last < '0' || last > '9' {
		return false
	}
	colon := strings.LastIndexByte(line, ':')
	if colon <= 0 || strings.IndexByte(line, ' ') >= 0 || strings.IndexByte(line, '\t') >= 0 {
		return false
	}
	for i := colon + 1; i < len(line); i++ {
		if line[i] < '0' || line[i] > '9' {
			return false
		}
	}
	switch {
	case line[0] == '/', strings.HasPrefix(line, "file://"), strings.HasPrefix(line, "node:"),
		strings.HasPrefix(line, "[eval]"):
		return true
	}
	return len(line) > 3 && isLetterByte(line[0]) && line[1] == ':' && line[2] == '\\'
}

// Continue accepts frames, the source/caret/blank lines of the uncaught
// exception header, an error's properties block, and the closing
// "Node.js vNN" line, after which the block is complete.
func (Node) Continue(block []string, line string) bool {
	if len(block) == 0 || strings.HasPrefix(block[len(block)-1], "Node.js v") {
		return false
	}
	t := skipIndent(line)
	if nodeIsFrameLine(t) {
		// A closing brace at the margin ends the error's properties block,
		// which util.inspect prints after the last frame: frames after it
		// belong to something printed later (a warning's --trace-warnings
		// stack behind a foreign line), not to this error.
		last := block[len(block)-1]
		return !(len(last) > 0 && last[0] == '}')
	}
	if strings.HasPrefix(line, "Node.js v") {
		return true
	}
	if strings.HasPrefix(t, "... ") && strings.HasSuffix(t, " ...") {
		return true // "... 4 lines matching cause stack trace ..."
	}
	if len(block) >= nodeMaxBlock {
		return false
	}
	if (len(t) < len(line) || t != "" && (t[0] == '}' || t[0] == ']')) && nodeOpenDepth(block) > 0 {
		return true // an indented property line or the closing brace
	}
	if nodeIsLocationHeader(block[0]) && len(block) < 8 && nodeHeaderArea(block) {
		return true // source, caret, blank and error lines
	}
	last := block[len(block)-1]
	return strings.TrimSpace(line) == "" && strings.TrimSpace(last) != ""
}

// MayContinueEscaped implements EscapedContinuer. The line's first byte
// after its indentation is in raw as is unless it is escaped (a tab, which
// may be indentation), and it is not white space: the line is not blank.
func (Node) MayContinueEscaped(block []string, raw string) bool {
	if len(block) == 0 || strings.HasPrefix(block[len(block)-1], "Node.js v") {
		return false
	}
	t := strings.TrimLeft(raw, " ")
	if t == "" || t[0] == '\\' {
		return true
	}
	if mayHavePrefix(t, "at ") || mayHavePrefix(raw, "Node.js v") || mayHavePrefix(t, "... ") {
		return true
	}
	if len(block) >= nodeMaxBlock {
		return false
	}
	if (len(t) < len(raw) || t[0] == '}' || t[0] == ']') && nodeOpenDepth(block) > 0 {
		return true
	}
	return nodeIsLocationHeader(block[0]) && len(block) < 8 && nodeHeaderArea(block)
}

// nodeMaxBlock bounds a block outside its frames: V8 keeps 10 frames by
// default, so a longer properties block is a log that never closed its brace.
const nodeMaxBlock = 500

// nodeIsFrameLine reports whether t (left-trimmed) is "at ...".
func nodeIsFrameLine(t string) bool {
	return len(t) > 3 && t[0] == 'a' && t[1] == 't' && t[2] == ' '
}

// nodeHeaderArea reports whether no frame has been seen yet.
func nodeHeaderArea(block []string) bool {
	for _, l := range block {
		if nodeIsFrameLine(skipIndent(l)) {
			return false
		}
	}
	return true
}

// nodeOpenDepth counts the braces and brackets of an error's properties
// block still open at the end of block: a line ending in '{' or '[' opens
// one, a line starting with '}' or ']' closes one.
func nodeOpenDepth(block []string) int {
	depth := 0
	for _, l := range block {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			continue
		}
		t := skipIndent(l)
		if t[0] == '}' || t[0] == ']' {
			depth--
		}
		if e := l[len(l)-1]; (e == '{' || e == '[') && len(t) > 1 || t == "{" || t == "[" {
			depth++
		}
	}
	return depth
}

// Detect accepts an error header or V8 frames: "at fn (file:1:2)" or
// "at file:1:2", whose line:column pair tells them from JVM frames.
func (n Node) Detect(block []string) bool {
	for _, l := range block {
		t := skipIndent(l)
		if nodeIsFrameLine(t) {
			f := nodeParseFrame(t)
			if f.Column > 0 || f.Path == "<anonymous>" || strings.HasPrefix(f.Path, "node:") {
				return true
			}
		}
	}
	return false
}

// nodeSegment is one error of the block: the thrown one or a [cause].
type nodeSegment struct {
	trace incident.Trace
	cause bool
	// item: one of an AggregateError's "[errors]: [ ... ]" (Promise.any
	// when every promise rejected), each with its own header and frames.
	item bool
}

// Parse reads a V8 trace block. It never fails: what it cannot read is
// listed in Problems.
func (Node) Parse(block []string) incident.Trace {
	if len(block) > 0 && (nodeIsProcessWarning(block[0]) || nodeIsConsoleTrace(block[0]) || nodeIsWarningHeader(block[0])) {
		// A process warning or console.trace(), not an error: no frames,
		// so no incident.
		return incident.Trace{Language: "node", Message: strings.TrimRight(block[0], "\r"),
			Problems: []string{"a warning or console.trace(), not an error"}}
	}
	var loc *incident.Frame
	i := 0
	if len(block) > 0 && nodeIsLocationHeader(block[0]) {
		f := nodeParseLocation(block[0])
		loc = &f
		i = 2 // the header and the source line
		for i < len(block) && (strings.Trim(block[i], " \t\r^") == "" ||
			strings.HasPrefix(block[i], "(Use `node")) {
			i++
		}
	}
	for i < len(block) && strings.TrimSpace(block[i]) == "" {
		i++
	}
	segs := []nodeSegment{{}}
	if i < len(block) && !nodeIsFrameLine(skipIndent(block[i])) {
		segs[0].trace.ErrorType, segs[0].trace.Message = nodeParseHeader(block[i])
		i++
	}
	inErrors := false
	for ; i < len(block); i++ {
		t := strings.TrimRight(skipIndent(block[i]), "\r")
		cur := &segs[len(segs)-1]
		switch {
		case nodeIsFrameLine(t):
			if cur.trace.Frames == nil {
				cur.trace.Frames = make([]incident.Frame, 0, 2*frameCap(len(block)-i))
			}
			cur.trace.Frames = append(cur.trace.Frames, nodeParseFrame(t))
		case strings.HasPrefix(t, "[errors]: ["):
			inErrors = true
		case inErrors && (t == "]" || t == "],"):
			inErrors = false
		case inErrors && nodeHeaderClassEnd(strings.TrimSuffix(t, ","), true) > 0:
			s := nodeSegment{item: true}
			s.trace.ErrorType, s.trace.Message = nodeParseHeader(strings.TrimSuffix(t, ","))
			segs = append(segs, s)
		case strings.HasPrefix(t, "[cause]: "):
			s := nodeSegment{cause: true}
			s.trace.ErrorType, s.trace.Message = nodeParseHeader(t[len("[cause]: "):])
			segs = append(segs, s)
		}
	}
	return nodeAssemble(segs, loc)
}

// nodeAssemble picks the deepest [cause] with frames as primary. When the
// thrown value had no stack (throw "text"), the location header is its
// only frame.
func nodeAssemble(segs []nodeSegment, loc *incident.Frame) incident.Trace {
	aggregate := len(segs[0].trace.Frames) == 0
	if len(segs[0].trace.Frames) == 0 && loc != nil {
		segs[0].trace.Frames = []incident.Frame{*loc}
	}
	primary := 0
	for i := 1; i < len(segs); i++ {
		if segs[i].cause && len(segs[i].trace.Frames) > 0 {
			primary = i
		}
	}
	if primary == 0 && aggregate {
		// An AggregateError printed without its own stack: the failure is
		// one of its errors. A runtime error (TypeError, RangeError, ...)
		// is a bug; a plain Error is usually a deliberate rejection.
		for pass := 0; pass < 2 && primary == 0; pass++ {
			for i := 1; i < len(segs); i++ {
				if segs[i].item && len(segs[i].trace.Frames) > 0 && (pass == 1 || segs[i].trace.ErrorType != "Error") {
					primary = i
					break
				}
			}
		}
	}
	tr := segs[primary].trace
	for i := range segs {
		segs[i].trace.Language = "node"
		if i != primary {
			tr.Chain = append(tr.Chain, segs[i].trace)
		}
	}
	tr.Language = "node"
	if tr.Message == "" {
		tr.Problems = append(tr.Problems, "no error line")
	} else if tr.ErrorType == "" {
		tr.Problems = append(tr.Problems, "thrown value is not an Error: "+javaClip(tr.Message))
	}
	if len(tr.Frames) == 0 {
		tr.Problems = append(tr.Problems, "no frames")
	}
	return tr
}

// nodeParseHeader returns the error class and the message line, unwrapping
// the unhandled-rejection and "Uncaught" forms.
func nodeParseHeader(line string) (errorType, message string) {
	line = strings.TrimRight(line, "\r")
	if strings.HasPrefix(line, "(node:") {
		if _, after, ok := strings.Cut(line, ") UnhandledPromiseRejectionWarning: "); ok {
			line = after
		}
	}
	line = strings.TrimPrefix(line, "Uncaught ")
	message = strings.TrimSuffix(line, " {")
	if strings.HasPrefix(message, "[UnhandledPromiseRejection") {
		return "UnhandledPromiseRejection", message
	}
	// An error without frames is inspected in brackets:
	// "[AggregateError: All promises were rejected] {".
	if len(message) > 2 && message[0] == '[' && message[len(message)-1] == ']' &&
		nodeHeaderClassEnd(message[1:len(message)-1], true) > 0 {
		message = message[1 : len(message)-1]
	}
	if n := nodeHeaderClassEnd(message, false); n > 0 && n < len(message) {
		return message[:n], message
	}
	if n := nodeHeaderClassEnd(message, true); n > 0 {
		return message[:n], message // "TypeError" alone
	}
	return "", message
}

// nodeParseFrame reads "at [async ]fn (location)" or "at location" (t is
// left-trimmed and starts with "at ").
func nodeParseFrame(t string) incident.Frame {
	rest := strings.TrimSpace(strings.TrimSuffix(strings.TrimRight(t[3:], " \r"), " {"))
	rest = strings.TrimSuffix(rest, ",") // the last frame of an "[errors]" item
	rest = strings.TrimPrefix(rest, "async ")
	fn, loc := "", rest
	if strings.HasSuffix(rest, ")") {
		if open := nodeMatchingParen(rest); open >= 0 {
			fn, loc = strings.TrimSpace(rest[:open]), rest[open+1:len(rest)-1]
		}
	}
	if strings.HasPrefix(loc, "eval at ") {
		if c := strings.LastIndex(loc, ", "); c >= 0 {
			loc = loc[c+2:]
		}
	}
	f := nodeParseLocation(loc)
	f.Function = fn
	return f
}

// nodeMatchingParen returns the index of the '(' matching the final ')'.
func nodeMatchingParen(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// nodeParseLocation reads "path:line:col" or "path:line"; a location
// without numbers ("<anonymous>", "index 0", "native") is kept as the path.
func nodeParseLocation(loc string) incident.Frame {
	var f incident.Frame
	path := loc
	if n, rest, ok := nodeCutNumber(path); ok {
		f.Line, path = n, rest
		if n2, rest2, ok := nodeCutNumber(path); ok {
			f.Line, f.Column, path = n2, n, rest2
		}
	}
	f.Path = nodeCleanPath(path)
	f.Library = nodeIsLibrary(f.Path)
	f.Package = nodePackage(f.Path)
	return f
}

// nodeCutNumber splits a trailing ":123" off s.
func nodeCutNumber(s string) (int, string, bool) {
	c := strings.LastIndexByte(s, ':')
	if c <= 0 || c == len(s)-1 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[c+1:])
	if err != nil || n < 0 {
		return 0, s, false
	}
	return n, s[:c], true
}

// nodeCleanPath turns file:// and webpack:// URLs into paths.
func nodeCleanPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "file://"); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(p, "webpack://"); ok {
		if !strings.HasPrefix(rest, "/") {
			// webpack://project-name/./src/x.js
			if s := strings.IndexByte(rest, '/'); s >= 0 {
				rest = rest[s:]
			}
		}
		if strings.HasPrefix(rest, "/./") {
			rest = rest[3:]
		}
		return rest
	}
	return p
}

// nodeIsLibrary reports frames of Node itself (node:*, internal/*, old
// core files printed without a directory, <anonymous>, native) and of
// node_modules.
func nodeIsLibrary(p string) bool {
	switch {
	case p == "", strings.HasPrefix(p, "node:"), strings.HasPrefix(p, "internal/"):
		return true
	case strings.Contains(p, "/node_modules/"), strings.Contains(p, `\node_modules\`),
		strings.HasPrefix(p, "node_modules/"):
		return true
	}
	return !strings.ContainsAny(p, `/\`)
}

// nodePackage returns the npm package of a node_modules frame.
func nodePackage(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	i := strings.LastIndex(p, "node_modules/")
	if i < 0 {
		return ""
	}
	rest := p[i+len("node_modules/"):]
	parts := strings.SplitN(rest, "/", 3)
	if strings.HasPrefix(rest, "@") && len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	if len(parts) < 2 {
		return ""
	}
	return parts[0]
}
