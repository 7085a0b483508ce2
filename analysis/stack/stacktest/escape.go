package stacktest

import (
	"strings"
	"unicode/utf8"
)

// EscapeJSON returns line as the content of a JSON string (without the
// quotes) the way logcli, Loki and most encoders write it, with '/' also
// escaped when slash is set (PHP's and some Java encoders' habit). It
// returns false when the line needs a \uXXXX escape (a control character
// without a short escape, invalid UTF-8): an EscapedStarter is never asked
// about such lines.
func EscapeJSON(line string, slash bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '/' && slash:
			b.WriteString(`\/`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(line[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			b.WriteString(line[i : i+n])
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String(), true
}
