package stack

import (
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Go reads the Go runtime's crash output: unrecovered panics (also
// "[recovered]" re-panics), fatal errors ("concurrent map writes",
// "all goroutines are asleep - deadlock!", stack overflow), GOTRACEBACK=all
// and system dumps, debug.Stack() output, and the frame-only stacks that zap,
// logrus and pkg/errors print.
//
// Decisions a caller may rely on:
//   - Message is the first error line without the runtime's framing: the
//     "panic: " prefix and the " [recovered]" / " [recovered, repanicked]"
//     annotations are dropped; "fatal error: ..." lines are kept whole because
//     there the prefix is the error class.
//   - ErrorType carries no request literals: runtime errors lose their
//     "[3] with length 3" details, "interface conversion: ..." becomes
//     "interface conversion" (the dynamic type varies per request), and other
//     panic values are normalized (numbers become N, quoted text and hex
//     addresses are dropped); a printed typed value ("(main.T) 0xc000..",
//     "main.Code(42)", "main.Err{...}") becomes its type name.
//   - In a dump of many goroutines the crashing one is the first listed, as
//     the runtime prints it first; "runtime stack:" (the system stack of a
//     fatal error) is used only when no goroutine has frames.
//   - For a recovered and re-panicked panic the first panic explains the
//     failure: Frames start below the runtime's panic(...) frame, at the
//     original site, and each re-panic (its message and the handler frames
//     above panic(...)) is listed in Chain.
//   - The "created by" line is kept as the outermost frame, so a goroutine
//     started directly on library code still names the application line that
//     started it.
type Go struct{}

// Language implements Parser.
func (Go) Language() string { return "go" }

// Start accepts the lines the Go runtime opens a crash with (and chi's
// Recoverer its pretty stack, see golang_chi.go), the goroutine
// header that opens a debug.Stack() print, and the first function line of
// a stack pkg/errors prints after its message (see NeedsPreface). Prefix
// checks, and one short scan of a line without spaces.
func (Go) Start(line string) bool {
	if goStartPrefix(line) || isGoroutineHeader(line) || loggedGoroutineHeader(line) {
		return true
	}
	if isFrameHead(line, false) || chiStart(line) {
		return true
	}
	if !hasGoMarker(line) {
		return false
	}
	_, ok := httpPanicValue(line)
	return ok || ginStart(line)
}

// NeedsPreface implements Prefaced: a stack that opens on a function line
// ("github.com/acme/payouts/limits.Check", as pkg/errors prints with
// "%+v"), or on a goroutine header behind the standard logger's prefix
// (a recover handler logging debug.Stack(), see golang_logged.go), is a
// trace only behind its error message.
func (Go) NeedsPreface(line string) bool {
	return isFrameHead(line, false) || loggedGoroutineHeader(line)
}

// IsPreface implements Prefaced: the message is free text, not a line of
// a stack (a frame line before a function line is the middle of a dump
// whose start was lost, not a new trace). Right after a stack it must look
// like a new log entry (a timestamp): pkg/errors prints the message of an
// errors.Wrap there too, and the stack below it is where the error was
// wrapped, not an error of its own.
func (Go) IsPreface(prev string, afterIndented bool) bool {
	prev = strings.TrimSuffix(prev, "\r")
	if strings.TrimSpace(prev) == "" || strings.HasPrefix(prev, "\t") || isFuncLine(prev) ||
		isStructuralLine(prev) || goStartPrefix(prev) {
		return false
	}
	return !afterIndented || looksLikeLogEntry(prev)
}

// maxFrameHead bounds the function lines isFrameHead reads.
const maxFrameHead = 512

// isFrameHead reports whether line is a function line that can open a
// pkg/errors stack: an import path with a slash, or package main, then a
// function name, no spaces, and no argument list. pkg/errors (and zap)
// print function names alone; the runtime's frames end in their argument
// list ("main.main()", "pkg.f(...)"), and in a crash storm, where every
// frame line is an entry, taking those as candidates cost 12% of the
// pipeline. slashEscaped allows "\/" for "/", as a JSON string may hold
// it.
func isFrameHead(line string, slashEscaped bool) bool {
	if len(line) < len("main.x") || len(line) > maxFrameHead || line[0] < 'a' || line[0] > 'z' ||
		line[len(line)-1] == ')' {
		return false
	}
	slash, dot := -1, -1 // the last '/' and the first '.' after it
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '(':
			// Only a method's receiver ("pkg.(*T).M").
			if dot < 0 || line[i-1] != '.' {
				return false
			}
		case c == '/':
			slash, dot = i, -1
		case c == '\\':
			if !slashEscaped || i+1 >= len(line) || line[i+1] != '/' {
				return false
			}
		case c == '.':
			if dot < 0 {
				dot = i
			}
		case c <= ' ', c == ':', c == '"', c == '=', c == ',', c == '\'', c >= 0x7f:
			return false
		}
	}
	if dot < 0 || dot == len(line)-1 {
		return false
	}
	return slash > 0 || strings.HasPrefix(line, "main.")
}

// goStartPrefix reports whether line opens with one of the runtime's crash
// headers, looking at the first byte before comparing a long header.
func goStartPrefix(line string) bool {
	if line == "" {
		return false
	}
	switch line[0] {
	case 'p':
		return strings.HasPrefix(line, "panic: ")
	case 'f':
		return strings.HasPrefix(line, "fatal error: ")
	case 'r':
		return strings.HasPrefix(line, "runtime: goroutine stack exceeds")
	case 'u':
		return strings.HasPrefix(line, "unexpected fault address ")
	}
	return false
}

// hasGoMarker reports whether line holds httpPanicMarker or ginMarker,
// which may be anywhere in a line (after a logger's timestamp). Every line
// of a log is tested so: each marker is looked for by two of its letters
// at their distance ('p' and 'v' of "panic serving", the brackets of
// "[Recovery]"), a pair rare in other text, many positions at a time,
// both pairs in one pass.
func hasGoMarker(line string) bool {
	const httpP = 6 // the offset of "panic"'s 'p' in httpPanicMarker
	for i := 0; ; {
		k := indexPairs(line[i:], 'p', 'v', '[', ']', 9)
		if k < 0 {
			return false
		}
		k += i
		if line[k] == 'p' {
			if k >= httpP && strings.HasPrefix(line[k-httpP:], httpPanicMarker) {
				return true
			}
		} else if strings.HasPrefix(line[k:], ginMarker) {
			return true
		}
		i = k + 1
	}
}

// MayStartEscaped implements EscapedStarter: Start's prefixes and markers
// hold no character that JSON escapes, so they are in raw when they are in
// the line. The goroutine header's "]:" ending is not checked: the line may
// end in an escaped "\r".
func (Go) MayStartEscaped(raw string) bool {
	return goStartPrefix(raw) || strings.HasPrefix(raw, "goroutine ") || hasGoMarker(raw) || isFrameHead(raw, true) ||
		chiStart(raw) || mayBeLoggedGoroutineHeader(raw)
}

// httpPanicMarker is what net/http logs when it recovers a handler's panic:
// "2026/11/20 10:42:01 http: panic serving 10.0.0.7:51234: <value>", then
// the stack. Most Go web services never crash on a handler panic; this is
// how their panics reach the logs.
const httpPanicMarker = "http: panic serving "

// httpPanicValue returns the panic value of a net/http recovery line.
func httpPanicValue(line string) (string, bool) {
	i := strings.Index(line, httpPanicMarker)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(httpPanicMarker):] // "addr: value"; an IPv6 addr has no ": "
	j := strings.Index(rest, ": ")
	if j < 0 {
		return "", false
	}
	return rest[j+2:], true
}

// Continue accepts the rest of a crash: the message lines and "[signal ...]"
// before the stacks, then blank lines, goroutine headers, frames,
// "created by", elision notes, register dumps and a final "exit status N".
// It refuses an ordinary log line, which closes the block.
func (Go) Continue(block []string, line string) bool {
	if len(block) == 0 {
		return false
	}
	if ginStart(block[0]) {
		return ginContinue(block, line)
	}
	if chiStart(block[0]) {
		return chiContinue(block, line)
	}
	if framesFirst(block) {
		return framesContinue(block, line)
	}
	if strings.HasPrefix(block[len(block)-1], "exit status ") {
		return false
	}
	line = strings.TrimSuffix(line, "\r")
	if line == "" || isStructuralLine(line) {
		return true
	}
	if inStacks(block) {
		return isFileLine(line) || isFuncLine(line) || isRegisterLine(line) ||
			strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "fatal error: ")
	}
	return continuesMessage(block, line)
}

// MayContinueEscaped implements EscapedContinuer. Every line Continue
// accepts in a stack is told by bytes JSON does not escape: a tab first
// (escaped: unsure), a prefix, a function line's parentheses, dots and
// spaces (an escape stands for one byte, never one of those), a register
// name before its first space.
func (Go) MayContinueEscaped(block []string, raw string) bool {
	if len(block) == 0 {
		return false
	}
	if ginStart(block[0]) || chiStart(block[0]) || framesFirst(block) {
		return true
	}
	if strings.HasPrefix(block[len(block)-1], "exit status ") {
		return false
	}
	if raw[0] == '\\' || goMayBeStructural(raw) {
		return true
	}
	if !inStacks(block) {
		// continuesMessage, whose prefixes JSON does not escape.
		switch {
		case len(block) >= maxMessageLines || strings.HasPrefix(raw, "panic: "):
			return false
		case strings.HasPrefix(raw, "fatal error: "):
			return !strings.HasPrefix(block[0], "fatal error: ")
		}
		for _, l := range block {
			if l == "" || l == "\r" {
				return false
			}
		}
		return !looksLikeLogEntry(raw)
	}
	if isFuncLine(raw) || mayHavePrefix(raw, "fatal error: ") {
		return true
	}
	// A register line's first space is at most 6 bytes in; each escape
	// before it in raw is two bytes for one.
	sp := strings.IndexByte(raw, ' ')
	if sp < 0 || sp > 2*6+1 {
		return false
	}
	return strings.IndexByte(raw[:sp], '\\') >= 0 || isRegisterLine(raw)
}

// goMayBeStructural is isStructuralLine for an escaped line: its prefixes
// (the goroutine header's, the elision note's), which JSON does not escape.
func goMayBeStructural(raw string) bool {
	for _, p := range [...]string{"goroutine ", "[signal ", "runtime: ", "created by ", "...",
		"exit status ", "PC=0x", "signal arrived during "} {
		if mayHavePrefix(raw, p) {
			return true
		}
	}
	return false
}

// Detect reports whether a structured log field holds a Go stack: a crash
// header, or a function line followed by a "\t/path/file.go:N" line.
func (g Go) Detect(block []string) bool {
	if ginBlockStart(block) >= 0 || chiBlockStart(block) >= 0 {
		return true
	}
	for i, l := range block {
		l = strings.TrimSuffix(l, "\r")
		if i == 0 && g.Start(l) {
			return true
		}
		if i > 0 && isFileLine(l) && strings.Contains(l, ".go:") && isFuncLine(block[i-1]) {
			return true
		}
	}
	return false
}

// framesFirst reports whether block is a stack printed without a header
// of the runtime's: it opens on a function line, or on the message line
// before one (pkg/errors' "%+v").
func framesFirst(block []string) bool {
	if isFrameHead(block[0], false) {
		return true
	}
	return len(block) > 1 && isFrameHead(block[1], false) &&
		!isGoroutineHeader(block[0]) && !goStartPrefix(block[0]) && !hasGoMarker(block[0])
}

// framesContinue is Continue for a framesFirst block: function and file
// lines, and the message pkg/errors prints between the stacks of an error
// wrapped with errors.Wrap ("payout p-17" after a file line). A blank line
// or one that looks like a new log entry ends it.
func framesContinue(block []string, line string) bool {
	line = strings.TrimSuffix(line, "\r")
	if isFileLine(line) || isFuncLine(line) {
		return true
	}
	if line == "" || looksLikeLogEntry(line) || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
		return false
	}
	return len(block) < maxFramesFirst && isFileLine(block[len(block)-1])
}

// maxFramesFirst bounds a framesFirst block: pkg/errors prints one stack
// per wrapping, each a few dozen lines.
const maxFramesFirst = 2000

// isStructuralLine matches lines that belong anywhere in a crash dump.
func isStructuralLine(l string) bool {
	switch {
	case isGoroutineHeader(l),
		strings.HasPrefix(l, "[signal "),
		strings.HasPrefix(l, "runtime: "),
		l == "runtime stack:",
		strings.HasPrefix(l, "created by "),
		isElidedLine(l),
		strings.HasPrefix(l, "exit status "),
		strings.HasPrefix(l, "PC=0x"),
		strings.HasPrefix(l, "signal arrived during "):
		return true
	}
	return false
}

// isElidedLine matches the line the runtime prints in place of the
// frames it leaves out of a deep stack: "...additional frames elided..."
// (Go before 1.21), "...5592290 frames elided..." (Go 1.21 on, which
// prints the innermost 50 frames and the outermost 50 around it).
func isElidedLine(l string) bool {
	return strings.HasPrefix(l, "...") && strings.HasSuffix(l, " frames elided...")
}

// inStacks reports whether block has reached the goroutine stacks. It looks
// back a few lines only, so feeding a long dump stays linear.
func inStacks(block []string) bool {
	if isGoroutineHeader(block[0]) {
		return true
	}
	for i := len(block) - 1; i >= 0 && i >= len(block)-4; i-- {
		l := block[i]
		if isGoroutineHeader(l) || l == "runtime stack:" || isFileLine(l) || loggedGoroutineHeader(l) {
			return true
		}
	}
	return false
}

// maxMessageLines bounds how many free-text lines a panic message may span
// (errors.Join values print several), so a log line that merely starts with
// "panic: " cannot swallow the log that follows.
const maxMessageLines = 32

// continuesMessage decides on a free-text line before the stacks: accepted
// while the message is still contiguous (no blank line yet), short, and the
// line does not look like a new log entry.
func continuesMessage(block []string, line string) bool {
	if len(block) >= maxMessageLines || strings.HasPrefix(line, "panic: ") {
		return false
	}
	if strings.HasPrefix(line, "\t") { // "\tpanic: ..." re-panics, go test's "\trunning tests:"
		return true
	}
	if strings.HasPrefix(line, "fatal error: ") {
		return !strings.HasPrefix(block[0], "fatal error: ")
	}
	for _, l := range block {
		if l == "" || l == "\r" {
			return false
		}
	}
	return !looksLikeLogEntry(line)
}

// looksLikeLogEntry recognises the start of a structured or timestamped log
// line: JSON, a leading digit (dates, times), or logfmt keys.
func looksLikeLogEntry(l string) bool {
	if l == "" {
		return false
	}
	if c := l[0]; c == '{' || (c >= '0' && c <= '9') {
		return true
	}
	return strings.HasPrefix(l, "time=") || strings.HasPrefix(l, "level=") ||
		strings.HasPrefix(l, "ts=") || strings.HasPrefix(l, "msg=")
}

// isGoroutineHeader matches "goroutine 12 [chan receive, 5 minutes]:" and
// the system form "goroutine 1 gp=0x.. m=0 mp=0x.. [running]:".
func isGoroutineHeader(l string) bool {
	if len(l) < len("goroutine 1 [x]:") || !strings.HasPrefix(l, "goroutine ") {
		return false
	}
	if c := l[len("goroutine ")]; c < '0' || c > '9' {
		return false
	}
	return strings.HasSuffix(l, "]:") || strings.HasSuffix(l, "]:\r")
}

// isFileLine matches "\t/path/file.go:42 +0x1d" (and trimpath, fp= and
// "<autogenerated>:1" forms): a tab, then a location ending in :digits.
func isFileLine(l string) bool {
	if len(l) < 4 || l[0] != '\t' || l[1] == '\t' || l[1] == ' ' {
		return false
	}
	_, _, ok := splitFileLine(l)
	return ok
}

// splitFileLine returns the path and line of a file line.
func splitFileLine(l string) (path string, line int, ok bool) {
	l = strings.TrimSuffix(l[1:], "\r")
	if i := strings.Index(l, " +0x"); i >= 0 {
		l = l[:i]
	} else if i := strings.Index(l, " fp=0x"); i >= 0 {
		l = l[:i]
	}
	colon := strings.LastIndexByte(l, ':')
	if colon <= 0 || colon == len(l)-1 || len(l)-colon > 11 {
		return "", 0, false
	}
	n := 0
	for _, c := range []byte(l[colon+1:]) {
		if c < '0' || c > '9' {
			return "", 0, false
		}
		n = n*10 + int(c-'0')
	}
	return l[:colon], n, true
}

// isFuncLine matches a frame's function line: "pkg.fn(args)", the zap and
// pkg/errors form without arguments ("main.handler"), or "created by".
// The part before the argument list holds no blanks.
func isFuncLine(l string) bool {
	l = strings.TrimSuffix(l, "\r")
	if l == "" || l[0] == '\t' || l[0] == ' ' {
		return false
	}
	if strings.HasPrefix(l, "created by ") {
		return len(l) > len("created by ") && l[len("created by ")] != ' '
	}
	if strings.HasSuffix(l, ")") {
		open := strings.IndexByte(l, '(')
		return open > 0 && strings.IndexByte(l[:open], ' ') < 0
	}
	// Frames without arguments must at least name a package: "pkg.fn".
	return strings.IndexByte(l, ' ') < 0 && strings.IndexByte(l, '.') > 0
}

// isRegisterLine matches the register dump GOTRACEBACK=crash prints
// ("rax    0x0", "r8     0x1").
func isRegisterLine(l string) bool {
	i := strings.IndexByte(l, ' ')
	if i < 2 || i > 6 {
		return false
	}
	return strings.HasPrefix(strings.TrimLeft(l[i:], " "), "0x")
}

// Parse reads a complete block. It never fails: what it cannot read is named
// in Problems.
func (Go) Parse(block []string) incident.Trace {
	if k := ginBlockStart(block); k >= 0 {
		return parseGin(block[k:])
	}
	if k := chiBlockStart(block); k >= 0 {
		return parseChi(block[k:])
	}
	block, logged := unlogBlock(block)
	t := incident.Trace{Language: "go"}
	h, rest := readHeader(block)
	h.logged = h.logged || logged && len(h.panics) > 0
	stacks := scanStacks(block[rest:])
	g := stacks.pick()
	t.Problems = append(t.Problems, stacks.problems...)
	switch {
	case g == nil && (h.fatal != "" || len(h.panics) > 0):
		t.Problems = append(t.Problems, "no goroutine stack after the error line (truncated trace?)")
	case g == nil:
		t.Problems = append(t.Problems, "no Go stack frames found")
	default:
		t.Goroutine = g.id
		t.Problems = append(t.Problems, g.problems...)
		t.Frames = g.frames
	}
	recovered := hasPanicFrame(t.Frames)
	switch {
	case len(h.panics) > 0:
		t.Message, t.ErrorType = h.panics[0], panicErrorType(h.panics[0])
		t.Frames, t.Chain = splitRepanics(h, t.Frames)
	case h.fatal != "":
		t.Message, t.ErrorType = h.fatal, normalizeMessage(h.fatal)
	case h.text != "":
		msg := stripGoLogPrefix(h.text)
		t.Message, t.ErrorType = msg, normalizeMessage(msg)
	}
	if len(h.panics) == 0 && h.fatal == "" || h.logged {
		// The stack was printed inside a deferred recover: the handler's
		// frames first, then panic(...), then the crash site.
		t.Frames, t.Chain = splitRecovered(t.Frames, t.Chain)
	}
	if logged {
		t = finishLogged(t, recovered)
	}
	return t
}

// DiagnosticStack reports whether tr is a goroutine stack a Go program
// printed on purpose, not a failure: debug.Stack() or debug.PrintStack()
// outside any panic (a "slow request, stack:" diagnostic), with no panic,
// fatal error or message line of its own. Such a stack read from plain text
// names no error and locates nothing wrong: its top app frame is only where
// the program chose to print it. A stack captured inside a deferred recover
// is not one (Parse puts the panic site first), nor is one a structured
// logger sent beside an error field (the reassembler fills its message
// from the log line before asking).
//
// Java's Thread.dumpStack() is the same thing: it prints
// "java.lang.Exception: Stack trace" with Thread.dumpStack as the top frame.
func DiagnosticStack(tr incident.Trace) bool {
	if len(tr.Frames) == 0 || len(tr.Chain) > 0 {
		return false
	}
	switch tr.Language {
	case "go":
		return tr.ErrorType == "" && tr.Message == "" && tr.Frames[0].Function == "runtime/debug.Stack"
	case "java":
		return tr.Frames[0].Function == "java.lang.Thread.dumpStack"
	}
	return false
}

// splitRecovered handles a stack captured inside a deferred recover (a
// logger printing debug.Stack()): it shows the handler on top, then
// panic(...), then where the panic happened. The crash site is the frame
// below the last panic(...); the handler's frames go into Chain.
func splitRecovered(frames []incident.Frame, chain []incident.Trace) ([]incident.Frame, []incident.Trace) {
	cut := -1
	for i, f := range frames {
		if f.Function == "panic" || f.Function == "runtime.gopanic" {
			cut = i
		}
	}
	if cut < 0 || cut == len(frames)-1 {
		return frames, chain
	}
	chain = append(chain, incident.Trace{Language: "go", Message: "recovered by", Frames: frames[:cut]})
	return frames[cut+1:], chain
}

// ErrorType names the error class of a panic value or error message logged
// apart from its stack (a structured logger's "error" field), the same way
// Parse names it for a printed panic.
func (Go) ErrorType(message string) string {
	return panicErrorType(strings.TrimPrefix(message, "panic: "))
}

// stripGoLogPrefix drops what the standard logger puts before a message:
// "2026/11/25 05:36:14.123456 " (LstdFlags, Lmicroseconds) and
// "file.go:23: " (Lshortfile, Llongfile), as pkg/errors' message line of a
// log.Printf("...: %+v", err) carries them.
func stripGoLogPrefix(s string) string {
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return s != ""
	}
	if len(s) > 11 && digits(s[:4]) && s[4] == '/' && digits(s[5:7]) && s[7] == '/' && digits(s[8:10]) && s[10] == ' ' {
		s = s[11:]
	}
	if len(s) > 9 && digits(s[:2]) && s[2] == ':' && digits(s[3:5]) && s[5] == ':' && digits(s[6:8]) {
		i := 8
		if s[i] == '.' {
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			}
		}
		if i < len(s) && s[i] == ' ' {
			s = s[i+1:]
		}
	}
	if i := strings.Index(s, ".go:"); i > 0 && strings.IndexByte(s[:i], ' ') < 0 {
		j := i + len(".go:")
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i+len(".go:") && strings.HasPrefix(s[j:], ": ") {
			s = s[j+2:]
		}
	}
	return s
}

// header is what precedes the stacks.
type header struct {
	panics    []string // panic values, oldest first, annotations removed
	recovered bool     // a panic line carried "[recovered"
	logged    bool     // the panic was recovered and logged by net/http
	fatal     string   // "fatal error: ..." line
	text      string   // first free-text line (pkg/errors prints the message first)
}

// readHeader reads the lines before the first stack and returns the index
// where the stacks begin.
func readHeader(block []string) (header, int) {
	var h header
	// When the block has a goroutine header, the stacks start there: frame
	// lookalikes before it are part of a multi-line panic message (which
	// may quote user input) and must not be taken as the stack.
	hasGoroutine := false
	for _, l := range block {
		if isGoroutineHeader(strings.TrimSuffix(l, "\r")) {
			hasGoroutine = true
			break
		}
	}
	for i, l := range block {
		l = strings.TrimSuffix(l, "\r")
		if isGoroutineHeader(l) || l == "runtime stack:" ||
			(!hasGoroutine && isFuncLine(l) && i+1 < len(block) && isFileLine(block[i+1])) {
			return h, i
		}
		if v, ok := httpPanicValue(l); ok && len(h.panics) == 0 {
			h.panics, h.logged = append(h.panics, v), true
			continue
		}
		switch p := strings.TrimPrefix(l, "\t"); {
		case strings.HasPrefix(p, "panic: "):
			v := p[len("panic: "):]
			if j := strings.LastIndex(v, " [recovered"); j >= 0 && strings.HasSuffix(v, "]") {
				v, h.recovered = v[:j], true
			}
			h.panics = append(h.panics, v)
		case strings.HasPrefix(l, "fatal error: "):
			if h.fatal == "" {
				h.fatal = l
			}
		case h.text == "" && len(h.panics) == 0 && h.fatal == "" && l != "" &&
			!isStructuralLine(l) && !strings.HasPrefix(l, "unexpected fault address"):
			h.text = l
		}
	}
	return h, len(block)
}

// goroutine is one stack of a dump.
type goroutine struct {
	id       int // -1 for "runtime stack:", 0 when the block had no header
	frames   []incident.Frame
	problems []string
}

// stacks holds the goroutines read so far; only the one Parse picks has its
// frames read, so a dump of thousands of goroutines costs one scan.
type stacks struct {
	first, system *goroutine
	problems      []string
}

func (s *stacks) pick() *goroutine {
	if s.first != nil {
		return s.first
	}
	return s.system
}

// scanStacks reads the first goroutine with frames (and the system stack).
func scanStacks(lines []string) stacks {
	var s stacks
	for i := 0; i < len(lines); {
		l := strings.TrimSuffix(lines[i], "\r")
		switch {
		case isGoroutineHeader(l) || l == "runtime stack:" || i == 0:
			g := &goroutine{id: -1}
			start := i + 1
			if isGoroutineHeader(l) {
				g.id = goroutineID(l)
			} else if l != "runtime stack:" {
				g.id, start = 0, i
			}
			i = readFrames(lines, start, g)
			if g.id == -1 && s.system == nil {
				s.system = g
			} else if g.id != -1 && len(g.frames) > 0 {
				s.first = g
				return s
			}
		default:
			i++
		}
	}
	return s
}

func goroutineID(header string) int {
	rest := header[len("goroutine "):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(rest[:end])
	return n
}

// frameCap is the capacity a trace's frames start with when n lines are
// left to read: one allocation for the frames of most traces (half the
// lines of a stack are frames, or fewer), without reserving the room of a
// whole dump of many goroutines for each of them.
func frameCap(n int) int { return min(n/2+1, 64) }

// readFrames reads function/file line pairs from lines[i:] into g until the
// next header, returning the index of the line that ended the stack.
func readFrames(lines []string, i int, g *goroutine) int {
	for ; i < len(lines); i++ {
		l := strings.TrimSuffix(lines[i], "\r")
		switch {
		case isGoroutineHeader(l) || l == "runtime stack:":
			return i
		case l == "" || strings.HasPrefix(l, "exit status ") || isRegisterLine(l) ||
			strings.HasPrefix(l, "PC=0x") || strings.HasPrefix(l, "\tgoroutine running on other thread"):
		case isElidedLine(l):
			g.problems = append(g.problems, "the runtime elided frames in the middle of the stack")
		case isFuncLine(l):
			f := parseFuncLine(l)
			if i+1 < len(lines) && isFileLine(lines[i+1]) {
				f.Path, f.Line, _ = splitFileLine(lines[i+1])
				i++
			} else {
				g.problems = append(g.problems, "frame "+quoteShort(f.Function)+" has no file line (torn trace?)")
			}
			f.Library = isLibrary(f.Package, f.Path)
			if g.frames == nil {
				g.frames = make([]incident.Frame, 0, frameCap(len(lines)-i))
			}
			g.frames = append(g.frames, f)
		case isFileLine(l):
			g.problems = append(g.problems, "file line "+quoteShort(l[1:])+" has no function line")
		case g.id == 0 && len(g.frames) > 0:
			// A stack without a header ends at free text: pkg/errors
			// prints the message of each errors.Wrap, then the stack
			// where it wrapped, below the stack of the error itself.
			return i
		default:
			g.problems = append(g.problems, "skipped line "+quoteShort(l))
		}
	}
	return i
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// parseFuncLine strips the argument list (and "created by ... in goroutine
// N") from a function line and derives the import path.
func parseFuncLine(l string) incident.Frame {
	name := l
	if strings.HasPrefix(name, "created by ") {
		name = name[len("created by "):]
		if j := strings.Index(name, " in goroutine "); j >= 0 {
			name = name[:j]
		}
	}
	name = stripArgs(name)
	return incident.Frame{Function: name, Package: funcPackage(name)}
}

// stripArgs removes the trailing parenthesised argument list, matching
// parentheses so "main.(*Cart).Total(...)" keeps its receiver.
func stripArgs(name string) string {
	if !strings.HasSuffix(name, ")") {
		return name
	}
	depth := 0
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				if i == 0 {
					return name
				}
				return name[:i]
			}
		}
	}
	return name
}

// funcPackage returns the import path in a function name: up to the last
// "/" plus the first "."-separated element after it. The linker escapes a
// dot in the last path element as %2e ("gopkg.in/yaml%2ev3.Unmarshal").
func funcPackage(name string) string {
	if name == "panic" {
		return "runtime" // Go 1.21+ prints runtime.gopanic as panic(...)
	}
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	pkg := name[:slash+1+dot]
	if strings.Contains(pkg, "%2e") {
		pkg = strings.ReplaceAll(pkg, "%2e", ".")
	}
	return pkg
}

// splitRepanics separates a recovered-and-re-panicked stack. The runtime
// prints the newest handler on top, then panic(...), then the site of the
// panic it was handling: the frames below the last panic(...) belong to the
// first panic, which Parse reports; each handler segment becomes a Chain
// entry, oldest re-panic first.
func splitRepanics(h header, frames []incident.Frame) ([]incident.Frame, []incident.Trace) {
	if len(h.panics) < 2 && !h.recovered {
		return frames, nil
	}
	var cuts []int
	for i, f := range frames {
		if f.Function == "panic" || f.Function == "runtime.gopanic" {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) == 0 || cuts[len(cuts)-1] == len(frames)-1 {
		return frames, nil
	}
	var chain []incident.Trace
	for j := len(cuts) - 1; j >= 0; j-- {
		from := 0
		if j > 0 {
			from = cuts[j-1] + 1
		}
		msg := h.panics[0] // "[recovered, repanicked]": the same value again
		if k := len(h.panics) - 1 - j; k >= 1 {
			msg = h.panics[k]
		}
		chain = append(chain, incident.Trace{
			Language: "go", ErrorType: panicErrorType(msg), Message: msg,
			Frames: frames[from:cuts[j]],
		})
	}
	return frames[cuts[len(cuts)-1]+1:], chain
}
