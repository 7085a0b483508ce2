// Package stack reads stack traces printed by language runtimes. Each
// language is one file implementing Parser, registered in Parsers.
//
// Parsers are pure: lines in, incident.Trace out. They never fail; a torn or
// truncated trace yields the frames that could be read plus Problems.
// Frames are returned innermost first (Frames[0] is where the error was
// raised), whatever order the runtime printed them in.
package stack

import (
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Parser reads one language's traces. The reassembler (package reassemble)
// drives it line by line over each log stream:
//
//	Start(line) opens a block; Continue(block, line) extends it while it
//	returns true; the first line it refuses closes the block, which is then
//	handed to Parse.
//
// Start and Continue run on every log line, so they must be cheap: check a
// prefix or a byte before any regular expression, and never allocate on the
// common no-match path.
type Parser interface {
	// Language is the name used in incidents: "go", "java", "python", "node".
	Language() string
	// Start reports whether line can open a trace of this language.
	Start(line string) bool
	// Continue reports whether line belongs to the trace whose lines so far
	// are block (block[0] is the line Start accepted).
	Continue(block []string, line string) bool
	// Detect reports whether block, taken from one structured log field
	// (a "stack" or "stacktrace" value), looks like this language's trace,
	// possibly without the header line (zap, logrus and debug.Stack print
	// frames only).
	Detect(block []string) bool
	// Parse reads a complete block.
	Parse(block []string) incident.Trace
}

// Classifier is implemented by parsers that can name the error type of a
// message logged apart from its stack (zap's "error" field beside a
// frames-only "stacktrace"), consistently with what Parse would name.
type Classifier interface {
	ErrorType(message string) string
}

// EscapedStarter is implemented by parsers that can refuse a line while it
// is still the content of a JSON string (logcli and Loki deliver lines so),
// which spares decoding the many escaped lines of a JSON-heavy log that
// start no trace. raw holds escapes, but no \uXXXX one, so every byte of
// the line that is not '"', '\\' or a control character is in raw as is,
// in order. MayStartEscaped returns false only when Start of the decoded
// line is false; a parser that cannot tell cheaply returns true.
type EscapedStarter interface {
	MayStartEscaped(raw string) bool
}

// EscapedContinuer is implemented by parsers that can tell, from a line
// still inside a JSON string, that Continue would refuse it. After a trace
// ends, its stream's next lines (up to the reassembler's MaxForeign) are
// each asked whether they continue it; in a crash storm they were as many
// as the traces' own lines, and most were escaped lines decoded only to be
// refused. raw holds at least one escape, is ASCII, and holds no \uXXXX
// or \n escape and no escaped line end at its end: every byte of the line
// that JSON does not escape is in raw as is, in order, and each escape
// stands for one byte. MayContinueEscaped returns false only when
// Continue(block, line) of the decoded line is false.
type EscapedContinuer interface {
	MayContinueEscaped(block []string, raw string) bool
}

// MayContinueEscaped reports whether p may continue block with the line
// whose JSON string content is raw (ASCII, no \uXXXX or \n escape, no
// escaped line end at its end): exactly Continue when raw holds no escape,
// the parser's EscapedContinuer when it implements one, else true.
func MayContinueEscaped(p Parser, block []string, raw string) bool {
	if strings.IndexByte(raw, '\\') < 0 {
		return p.Continue(block, raw)
	}
	if ec, ok := p.(EscapedContinuer); ok {
		return ec.MayContinueEscaped(block, raw)
	}
	return true
}

// mayHavePrefix reports whether the line whose escaped form is raw may
// start with prefix: raw and the line agree up to raw's first backslash.
func mayHavePrefix(raw, prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		switch {
		case i >= len(raw):
			return false // the line is no longer than raw
		case raw[i] == '\\':
			return true
		case raw[i] != prefix[i]:
			return false
		}
	}
	return true
}

// Prefaced is implemented by parsers that read traces whose message a
// logger printed on the line before the first frame, with no header of the
// runtime's to open them: pkg/errors' "%+v" prints the error message, then
// function and file lines. Start accepts such a frame line; the reassembler
// then opens a block only when the stream's previous line is a message
// (IsPreface), and makes it the block's first line.
type Prefaced interface {
	// NeedsPreface reports whether line, which Start accepted, opens a
	// trace only behind a message line.
	NeedsPreface(line string) bool
	// IsPreface reports whether prev, the stream's line before one
	// NeedsPreface accepted, can be the trace's message. afterIndented
	// says that the line before prev was indented (a frame line): prev
	// may then be text that ends a trace rather than one that opens one.
	IsPreface(prev string, afterIndented bool) bool
}

// OptionallyPrefaced is implemented by parsers whose traces open on a line
// of their own but may have their message on the line before, printed by
// the same log call: log.Printf("panic: %v\n%s", r, debug.Stack()) puts the
// panic value behind the logger's prefix, then the runtime's goroutine
// header. The reassembler makes that line the block's first when
// TakesPreface accepts it, and opens the block without it otherwise.
type OptionallyPrefaced interface {
	// MayTakePreface reports whether line, which Start accepted, may have
	// its message on the line before.
	MayTakePreface(line string) bool
	// TakesPreface reports whether prev, the stream's line before one
	// MayTakePreface accepted, is that message.
	TakesPreface(prev string) bool
}

// Parsers lists every language, in the order Start is tried. Adding a
// language is one new file plus its entry here.
var Parsers = []Parser{
	Go{},
	Java{},
	Python{},
	Node{},
}

// ByLanguage returns the parser for a language name, or nil.
func ByLanguage(lang string) Parser {
	for _, p := range Parsers {
		if p.Language() == lang {
			return p
		}
	}
	return nil
}
