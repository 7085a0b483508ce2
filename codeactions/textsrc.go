package codeactions

import (
	"regexp"
	"strings"
)

// textLine is the crashing line of a file the rules edit as text (Python,
// JavaScript, Java), with what they need around it.
type textLine struct {
	src        []byte
	start, end int    // byte range of the line, without its newline
	text       string // the line
	indent     string // its leading white space
	code       string // the line without indent and trailing space
}

func lineOf(in Input) (*textLine, error) {
	start, end, ok := lineBounds(in.Content, in.Line)
	if !ok {
		return nil, notApplicable("line %d is past the end of %s", in.Line, in.Path)
	}
	text := strings.TrimRight(string(in.Content[start:end]), "\r")
	code := strings.TrimSpace(text)
	if code == "" {
		return nil, notApplicable("line %d of %s is empty", in.Line, in.Path)
	}
	return &textLine{src: in.Content, start: start, end: start + len(text), text: text,
		indent: text[:len(text)-len(strings.TrimLeft(text, " \t"))], code: code}, nil
}

// replace returns the file with the line replaced by lines (each given
// without indentation gets the line's).
func (l *textLine) replace(lines ...string) []byte {
	for i, s := range lines {
		lines[i] = l.indent + s
	}
	return replaceRange(l.src, l.start, l.end, strings.Join(lines, "\n"))
}

// indentUnit guesses one level of indentation from the file.
func indentUnit(src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "\t") {
			return "\t"
		}
		if t := strings.TrimLeft(line, " "); t != line && t != "" {
			n := len(line) - len(t)
			if n == 2 || n == 4 {
				return line[:n]
			}
		}
	}
	return "    "
}

// linesBefore returns the file's lines before the 1-based line, nearest
// first.
func linesBefore(src []byte, line int) []string {
	all := strings.Split(string(src), "\n")
	if line-1 > len(all) {
		return nil
	}
	before := all[:line-1]
	out := make([]string, 0, len(before))
	for i := len(before) - 1; i >= 0; i-- {
		out = append(out, strings.TrimRight(before[i], "\r"))
	}
	return out
}

var identChain = `[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*`

// wordAt reports whether s[i:] starts with word as a whole expression
// (not the tail of a longer name or a member of another object).
func wordAt(s string, i int, word string) bool {
	if !strings.HasPrefix(s[i:], word) {
		return false
	}
	if i > 0 {
		c := s[i-1]
		if c == '.' || c == '_' || c == '$' || isAlnum(c) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// inString reports whether byte i of a line lies inside a quoted string
// literal (a rough scan: enough to keep rules off literals).
func inString(line string, i int) bool {
	var quote byte
	for j := 0; j < i && j < len(line); j++ {
		c := line[j]
		switch {
		case quote != 0 && c == '\\':
			j++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		}
	}
	return quote != 0
}

var numberLit = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
