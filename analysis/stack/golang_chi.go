package stack

import (
	"strings"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/ansi"
)

// chi's Recoverer middleware (github.com/go-chi/chi/v5/middleware), which
// nearly every chi service mounts, catches a handler's panic and prints a
// "pretty stack" of its own to stderr instead of the runtime's traceback:
//
//	 panic: interface conversion: interface {} is nil, not string
//
//	 -> github.com/acme/users/internal/api.getUser
//	 ->   github.com/acme/users/internal/api/users.go:23
//
//	    net/http.HandlerFunc.ServeHTTP
//	      net/http/server.go:2286
//	    created by net/http.(*Server).Serve in goroutine 1
//	      net/http/server.go:3464
//
// The panic line opens with one space; the line after the value holds a
// single space. Frames are a function line without its arguments, indented
// four spaces, and its "path.go:N" line without the +0x offset, indented
// six; chi marks the first (the crash site: it drops the stack above the
// panic, its own frames and the runtime's) with " -> " and " ->   ". When
// stdout is a terminal every part is wrapped in ANSI colours.

// chiPanicPrefix opens chi's pretty stack.
const chiPanicPrefix = " panic: "

// chiStart reports the first line of chi's pretty stack. Its first byte is
// checked before anything else: every line of a log is asked.
func chiStart(line string) bool {
	switch {
	case line == "":
		return false
	case line[0] == ' ': // uncoloured: no escape can come before the prefix
		return strings.HasPrefix(line, chiPanicPrefix)
	case line[0] == 0x1b:
		return strings.HasPrefix(ansi.Strip(line), chiPanicPrefix)
	}
	return false
}

// chiBlockStart returns the index of the panic line when it is the block's
// first non-blank line (a structured field may start with a newline), or -1.
func chiBlockStart(block []string) int {
	for i, l := range block {
		switch {
		case strings.TrimSpace(ansi.Strip(l)) == "":
			continue
		case chiStart(l):
			return i
		}
		return -1
	}
	return -1
}

// chiLine is one line of the pretty stack, decoded.
type chiLine struct {
	blank bool   // empty or only spaces
	fn    string // a function line's function ("created by ..." kept)
	path  string // a source line's path
	line  int    // and line
}

// readChiLine decodes a line of the stack part; ok is false for any other
// line (free text, the next log entry).
func readChiLine(l string) (c chiLine, ok bool) {
	l = strings.TrimRight(ansi.Strip(l), " \r")
	if l == "" {
		return chiLine{blank: true}, true
	}
	var rest string
	switch {
	case strings.HasPrefix(l, " ->   "):
		rest = l[len(" ->   "):]
	case strings.HasPrefix(l, " -> "):
		rest = l[len(" -> "):]
	case strings.HasPrefix(l, "      "):
		rest = l[len("      "):]
	case strings.HasPrefix(l, "    "):
		rest = l[len("    "):]
	default:
		return chiLine{}, false
	}
	if rest == "" || rest[0] == ' ' {
		return chiLine{}, false
	}
	if strings.Contains(rest, ".go:") || strings.Contains(rest, ".s:") {
		if path, n, ok := splitFileLine("\t" + rest); ok && strings.IndexByte(path, ' ') < 0 {
			return chiLine{path: path, line: n}, true
		}
	}
	if isFuncLine(rest) {
		return chiLine{fn: rest}, true
	}
	return chiLine{}, false
}

// chiInStack reports whether block has passed the panic value: the line
// holding a single space that chi prints after it, or a frame.
func chiInStack(block []string) bool {
	for _, l := range block[1:] {
		if c, ok := readChiLine(l); ok && (c.blank || c.fn != "" || c.path != "") {
			return true
		}
	}
	return false
}

// chiContinue accepts, after the panic line, the rest of a multi-line panic
// value (errors.Join prints one error a line), then the blank and frame
// lines. Any other line ends the block.
func chiContinue(block []string, line string) bool {
	if _, ok := readChiLine(line); ok {
		return true
	}
	return !chiInStack(block) && len(block) < maxMessageLines && !looksLikeLogEntry(ansi.Strip(line))
}

// parseChi reads chi's pretty stack. The first frame is the crash site:
// chi cut the runtime's panic machinery and its own recover away.
func parseChi(block []string) incident.Trace {
	t := incident.Trace{Language: "go"}
	// The first line of the value, as Parse takes a runtime panic's: the
	// rest of a multi-line value (errors.Join) is skipped.
	t.Message = strings.TrimRight(strings.TrimPrefix(ansi.Strip(block[0]), chiPanicPrefix), " \r")
	t.ErrorType = panicErrorType(t.Message)
	i := 1
	for i < len(block) {
		if _, ok := readChiLine(block[i]); ok {
			break
		}
		i++
	}
	for ; i < len(block); i++ {
		c, ok := readChiLine(block[i])
		if !ok {
			break // what follows the stack is not part of it
		}
		switch {
		case c.fn != "":
			f := parseFuncLine(c.fn)
			if i+1 < len(block) {
				if next, _ := readChiLine(block[i+1]); next.path != "" {
					f.Path, f.Line = next.path, next.line
					i++
				}
			}
			if f.Path == "" {
				t.Problems = append(t.Problems, "frame "+quoteShort(f.Function)+" has no file line (torn trace?)")
			}
			f.Library = isLibrary(f.Package, f.Path)
			t.Frames = append(t.Frames, f)
		case c.path != "":
			t.Problems = append(t.Problems, "file line "+quoteShort(c.path)+" has no function line")
		}
	}
	if t.Message == "" {
		t.Problems = append(t.Problems, "no panic value on the panic line")
	}
	if len(t.Frames) == 0 {
		t.Problems = append(t.Problems, "no Go stack frames found")
	}
	return t
}
