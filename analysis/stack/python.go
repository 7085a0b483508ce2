package stack

import (
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Python reads CPython tracebacks (Python 2 and 3, with 3.11+ caret lines):
//
//	Traceback (most recent call last):
//	  File "/srv/app/cart.py", line 42, in total
//	    return cart["sku"]
//	           ~~~~^^^^^^^
//	KeyError: 'sku'
//
// Chained tracebacks ("During handling of the above exception, ..." and
// "The above exception was the direct cause of ...") form one block. The
// primary exception is the last one printed, the one that was raised,
// unless it was raised from another (`raise Wrapper(...) from e`): then
// the exception it names as its direct cause is, as Java's deepest
// "Caused by:" is, since the wrapper only re-labels the failure. One that
// occurred while handling another ("During handling") stays primary: the
// handler itself failed. The others go to Chain in printed order. Python
// prints the outermost frame first; Frames are reversed to innermost
// first.
//
// Exception groups (3.11+, what asyncio.TaskGroup raises when a task fails)
// print as a box:
//
//	$ python3 main.py
//	  + Exception Group Traceback (most recent call last):
//	  |   File "/srv/app/main.py", line 7, in main
//	  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
//	  +-+---------------- 1 ----------------
//	    | Traceback (most recent call last):
//	    |   File "/srv/app/fetch.py", line 4, in fetch
//	    | KeyError: 'b'
//	    +------------------------------------
//
// The first sub-exception with a traceback is primary (the task that
// failed), the group goes to Chain; a group whose sub-exceptions carry no
// traceback (built and raised in one place) is its own primary.
type Python struct{}

// Language implements Parser.
func (Python) Language() string { return "python" }

const (
	pyTracebackHeader = "Traceback (most recent call last):"
	pyGroupHeader     = "+ Exception Group Traceback (most recent call last):"
	pyContextSep      = "During handling of the above exception, another exception occurred:"
	pyCauseSep        = "The above exception was the direct cause of the following exception:"
)

// Start opens a block only on the "Traceback" header: a bare "KeyError: x"
// line is ambiguous with Node's error header and carries no frames.
func (Python) Start(line string) bool {
	if line == "" {
		return false
	}
	switch line[0] { // the first byte before comparing a long header
	case 'T':
		return strings.HasPrefix(line, pyTracebackHeader)
	case ' ', '+':
		return pyIsGroupStart(line)
	}
	return false
}

// MayStartEscaped implements EscapedStarter: both headers are plain text.
func (p Python) MayStartEscaped(raw string) bool { return p.Start(raw) }

// pyIsGroupStart reports the first line of an exception group's box.
func pyIsGroupStart(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " "), pyGroupHeader)
}

// pyInGroupBox reports a line of an exception group's box: everything in
// it starts, after indentation, with its frame '|' or a corner '+'.
func pyInGroupBox(line string) bool {
	t := strings.TrimLeft(line, " ")
	return t != "" && (t[0] == '|' || t[0] == '+')
}

// Continue accepts frame, source and caret lines (all indented), the final
// exception line, and the separators and blank lines that join chained
// tracebacks. After the exception line only the start of a chain continues
// the block, so an unrelated traceback after a blank line is a new block.
func (Python) Continue(block []string, line string) bool {
	if len(block) == 0 {
		return false
	}
	if pyIsGroupStart(block[0]) {
		return pyInGroupBox(strings.TrimRight(line, "\r"))
	}
	last := block[len(block)-1]
	if last == "" || last == "\r" {
		// Between an exception line and a separator, or a separator and
		// the next traceback.
		if line == "" || line == "\r" {
			// Python prints single blank lines; a run of them ends the block.
			return len(block) > 1 && strings.TrimRight(block[len(block)-2], "\r") != ""
		}
		if pyIsSeparator(line) {
			return true
		}
		return strings.HasPrefix(line, pyTracebackHeader) && pyAfterSeparator(block)
	}
	if pyIsSeparator(last) {
		return line == "" || line == "\r" || strings.HasPrefix(line, pyTracebackHeader)
	}
	if pyInFrames(last) {
		// Indented: frame, source or caret line. Otherwise the exception.
		return line != "" && line != "\r"
	}
	// last is the exception line.
	return line == "" || line == "\r" || pyIsSeparator(line)
}

// MayContinueEscaped implements EscapedContinuer. An escaped line is not
// blank, and a separator or header is in it as is up to its first escape.
func (Python) MayContinueEscaped(block []string, raw string) bool {
	if len(block) == 0 {
		return false
	}
	if pyIsGroupStart(block[0]) {
		t := strings.TrimLeft(raw, " ")
		return t != "" && (t[0] == '|' || t[0] == '+' || t[0] == '\\')
	}
	last := block[len(block)-1]
	switch {
	case last == "" || last == "\r":
		return pyMayBeSeparator(raw) || mayHavePrefix(raw, pyTracebackHeader) && pyAfterSeparator(block)
	case pyIsSeparator(last):
		return mayHavePrefix(raw, pyTracebackHeader)
	case pyInFrames(last):
		return true
	}
	return pyMayBeSeparator(raw)
}

// pyMayBeSeparator is pyIsSeparator for an escaped line, which is no
// shorter than the line.
func pyMayBeSeparator(raw string) bool {
	return len(raw) > 40 && (mayHavePrefix(raw, pyContextSep) || mayHavePrefix(raw, pyCauseSep))
}

// pyInFrames reports whether the block's last line is inside a traceback's
// frame list, where the next unindented line is the exception.
func pyInFrames(last string) bool {
	return last[0] == ' ' || last[0] == '\t' || strings.HasPrefix(last, pyTracebackHeader)
}

func pyIsSeparator(line string) bool {
	return len(line) > 40 && (line[0] == 'D' || line[0] == 'T') &&
		(strings.HasPrefix(line, pyContextSep) || strings.HasPrefix(line, pyCauseSep))
}

// pyAfterSeparator reports whether the last non-blank line of block is a
// chain separator.
func pyAfterSeparator(block []string) bool {
	for i := len(block) - 1; i >= 0; i-- {
		l := strings.TrimRight(block[i], "\r")
		if l != "" {
			return pyIsSeparator(l)
		}
	}
	return false
}

// Detect accepts a Traceback header or `File "...", line N` frame lines, as
// error trackers print them without the header.
func (Python) Detect(block []string) bool {
	for _, l := range block {
		if strings.HasPrefix(l, pyTracebackHeader) || pyIsGroupStart(l) {
			return true
		}
		if _, ok := parsePyFrame(skipIndent(l)); ok {
			return true
		}
	}
	return false
}

// pySegment is one traceback of a chain.
type pySegment struct {
	trace    incident.Trace
	relation string // how it leads to the next: "cause" or "context"
}

// Parse reads a traceback block. It never fails: what it cannot read is
// listed in Problems.
func (p Python) Parse(block []string) incident.Trace {
	block = pyExpandEscaped(block)
	if len(block) > 0 && pyIsGroupStart(block[0]) {
		return p.parseGroup(block)
	}
	var segs []pySegment
	cur := func() *pySegment {
		if len(segs) == 0 {
			segs = append(segs, pySegment{})
		}
		return &segs[len(segs)-1]
	}
	newSeg := false
	for i, raw := range block {
		line := strings.TrimRight(raw, "\r\n")
		t := skipIndent(line)
		switch {
		case t == "":
		case strings.HasPrefix(line, pyTracebackHeader):
			if newSeg || len(segs) == 0 || len(segs[len(segs)-1].trace.Frames) > 0 ||
				segs[len(segs)-1].trace.Message != "" {
				segs = append(segs, pySegment{})
			}
			newSeg = false
		case strings.HasPrefix(line, pyContextSep):
			cur().relation, newSeg = "context", true
		case strings.HasPrefix(line, pyCauseSep):
			cur().relation, newSeg = "cause", true
		case len(t) != len(line):
			if f, ok := parsePyFrame(t); ok {
				s := cur()
				if s.trace.Frames == nil {
					s.trace.Frames = make([]incident.Frame, 0, frameCap(len(block)-i))
				}
				s.trace.Frames = append(s.trace.Frames, f)
			} // else a source, caret or "[Previous line repeated]" line
		default:
			if newSeg {
				segs = append(segs, pySegment{})
				newSeg = false
			}
			s := cur()
			if s.trace.Message == "" {
				s.trace.Message = line
				s.trace.ErrorType = pyErrorType(line)
			}
		}
	}
	return pyAssemble(segs)
}

// parseGroup reads an exception group's box: its own traceback is the
// lines under the header's '|' column; each sub-exception is a box of its
// own, further right, opened by "| Traceback" (or by a nested group).
func (p Python) parseGroup(block []string) incident.Trace {
	header := strings.TrimRight(block[0], "\r")
	own := header[:strings.IndexByte(header, '+')] + "| "
	group := p.Parse(append([]string{pyTracebackHeader}, pyBoxLines(block[1:], own)...))
	for i, l := range block[1:] {
		l = strings.TrimRight(l, "\r")
		j := strings.Index(l, "| "+pyTracebackHeader)
		if j < 0 || strings.Trim(l[:j], " |") != "" || strings.HasPrefix(l, own+pyTracebackHeader) {
			continue
		}
		leaf := p.Parse(pyBoxLines(block[1+i:], l[:j+2]))
		if len(leaf.Frames) > 0 {
			leaf.Chain = append(leaf.Chain, group)
			return leaf
		}
	}
	return group
}

// pyBoxLines returns the lines of a box: those that start with its prefix,
// from the first, with the prefix cut.
func pyBoxLines(lines []string, prefix string) []string {
	var out []string
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if !strings.HasPrefix(l, prefix) {
			if strings.TrimRight(l, " ") == strings.TrimRight(prefix, " ") {
				out = append(out, "") // "|" alone: a blank line inside the box
				continue
			}
			break
		}
		out = append(out, l[len(prefix):])
	}
	return out
}

// pyAssemble reverses frames to innermost first and makes the last
// exception primary.
func pyAssemble(segs []pySegment) incident.Trace {
	if len(segs) == 0 {
		return incident.Trace{Language: "python", Problems: []string{"no traceback frames or exception line"}}
	}
	traces := make([]incident.Trace, len(segs))
	for i, s := range segs {
		t := s.trace
		t.Language = "python"
		for a, b := 0, len(t.Frames)-1; a < b; a, b = a+1, b-1 {
			t.Frames[a], t.Frames[b] = t.Frames[b], t.Frames[a]
		}
		if t.Message == "" {
			t.Problems = append(t.Problems, "no exception line: the traceback is truncated")
		} else if t.ErrorType == "" {
			t.Problems = append(t.Problems, "no exception class in line: "+javaClip(t.Message))
		}
		if len(t.Frames) == 0 {
			t.Problems = append(t.Problems, "no frames")
		}
		traces[i] = t
	}
	// Follow "direct cause" links back from the exception raised. A
	// cause's traceback stops at the frame that caught it; the frames
	// outside it are those of the exception it caused, past that frame.
	p := len(traces) - 1
	for p > 0 && segs[p-1].relation == "cause" && len(traces[p-1].Frames) > 0 {
		p--
		traces[p].Frames = pyOuterFrames(traces[p].Frames, traces[p+1].Frames)
	}
	primary := traces[p]
	for i := range traces {
		if i != p {
			primary.Chain = append(primary.Chain, traces[i])
		}
	}
	return primary
}

// pyOuterFrames completes the frames of a cause (innermost first) with the
// frames of the exception it caused that lie outside the frame that
// caught it: that frame is the cause's outermost and the other's innermost
// (same file and function; the line differs, the raise being below the
// call). When they do not meet so, cause is returned as it is.
func pyOuterFrames(cause, caused []incident.Frame) []incident.Frame {
	if len(cause) == 0 || len(caused) < 2 {
		return cause
	}
	last, first := cause[len(cause)-1], caused[0]
	if last.Path != first.Path || last.Function != first.Function {
		return cause
	}
	out := make([]incident.Frame, 0, len(cause)+len(caused)-1)
	return append(append(out, cause...), caused[1:]...)
}

// parsePyFrame reads `File "path", line N, in func` (t is left-trimmed).
func parsePyFrame(t string) (incident.Frame, bool) {
	if !strings.HasPrefix(t, `File "`) {
		return incident.Frame{}, false
	}
	rest := t[len(`File "`):]
	q := strings.LastIndex(rest, `", line `)
	if q < 0 {
		return incident.Frame{}, false
	}
	f := incident.Frame{Path: rest[:q]}
	rest = rest[q+len(`", line `):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	f.Line, _ = strconv.Atoi(rest[:end])
	if fn, ok := strings.CutPrefix(rest[end:], ", in "); ok {
		f.Function = fn
	}
	f.Library = pyIsLibrary(f.Path)
	f.Package = pyModule(f.Path)
	return f, true
}

// pyErrorType returns the exception class of the final line: the dotted
// name before ": ", or the whole line when the exception has no message.
func pyErrorType(line string) string {
	end := 0
	for end < len(line) && isJavaIdentByte(line[end]) {
		end++
	}
	if end == 0 || !isLetterByte(line[0]) && line[0] != '_' {
		return ""
	}
	if end < len(line) && line[end] != ':' {
		return ""
	}
	return strings.TrimRight(line[:end], ".")
}

// pyIsLibrary reports frames from installed packages, the standard library
// or code without a file (<frozen ...>, <string>, <decorator-gen-1>).
func pyIsLibrary(path string) bool {
	if strings.HasPrefix(path, "<") {
		return true
	}
	p := strings.ReplaceAll(path, `\`, "/")
	if strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/") {
		return true
	}
	i := strings.Index(p, "/lib/python")
	return i >= 0 && i+len("/lib/python") < len(p) && p[i+len("/lib/python")] >= '0' && p[i+len("/lib/python")] <= '9'
}

// pyModule guesses the dotted module name from a path: exact below
// site-packages or the standard library, the relative path for relative
// paths, and the file's stem for other absolute paths (their source root is
// unknown).
func pyModule(path string) string {
	if strings.HasPrefix(path, "<") || !strings.HasSuffix(path, ".py") {
		return ""
	}
	p := strings.ReplaceAll(strings.TrimSuffix(path, ".py"), `\`, "/")
	switch {
	case strings.Contains(p, "-packages/"):
		p = p[strings.LastIndex(p, "-packages/")+len("-packages/"):]
	case strings.Contains(p, "/lib/python"):
		p = p[strings.LastIndex(p, "/lib/python")+len("/lib/python"):]
		if s := strings.IndexByte(p, '/'); s >= 0 {
			p = p[s+1:]
		}
	case strings.HasPrefix(p, "/") || len(p) > 2 && p[1] == ':':
		p = strings.TrimSuffix(p, "/__init__") // a package is named by its folder
		p = p[strings.LastIndexByte(p, '/')+1:]
	}
	for strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") {
		p = p[strings.IndexByte(p, '/')+1:]
	}
	p = strings.TrimSuffix(p, "/__init__")
	return strings.ReplaceAll(p, "/", ".")
}

// pyExpandEscaped splits a traceback logged as one line with literal "\n"
// escapes (a repr() or a JSON-escaped message) into its lines.
func pyExpandEscaped(block []string) []string {
	if len(block) == 0 || !strings.HasPrefix(block[0], pyTracebackHeader+`\n`) {
		return block
	}
	unescape := strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`)
	var out []string
	for _, l := range block {
		for _, part := range strings.Split(l, `\n`) {
			out = append(out, unescape.Replace(part))
		}
	}
	return out
}
