package reassemble

import (
	"strings"

	"github.com/faultline-dev/faultline/analysis/stack"
)

// escapedBreak is how a logger set up to keep each event on one line
// writes the line breaks of a trace: the two characters '\' and 'n'.
// logback's %replace(%ex){'[\r\n]+', '\\n'}%nopex after the message, a
// Python formatter that escapes exc_text, and the like give
//
//	2026-11-20 10:42:01.123 ERROR [main] c.a.Pay - payout failed java.lang.NullPointerException: x\n	at com.acme.Pay.fee(Pay.java:7)\n	at ...
//
// which no parser's Start accepts, the trace beginning mid-line.
const escapedBreak = `\n`

// oneLineTrace returns the trace a one-line event holds behind its
// message, with its escaped line breaks made real ones, and true: from
// the first piece (between escaped breaks) of which a suffix starting at
// a word is a line a parser starts a trace with, and whose next piece
// continues that trace (logback puts the header on the message's piece,
// Python's logger.exception on a piece of its own). It returns false
// otherwise, so that a message that only quotes a "\n" is left alone.
func oneLineTrace(parsers []stack.Parser, line string) (string, bool) {
	if !strings.Contains(line, escapedBreak) || line[0] == '{' {
		return "", false
	}
	pieces := strings.Split(strings.TrimSuffix(line, escapedBreak), escapedBreak)
	for k := 0; k+1 < len(pieces); k++ {
		piece, next := pieces[k], pieces[k+1]
		for i := 0; i < len(piece); i++ {
			if i > 0 && piece[i-1] != ' ' {
				continue
			}
			for _, p := range parsers {
				if p.Start(piece[i:]) && p.Continue([]string{piece[i:]}, next) {
					return piece[i:] + "\n" + strings.Join(pieces[k+1:], "\n"), true
				}
			}
		}
	}
	return "", false
}
