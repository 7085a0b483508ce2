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
	if line == "" || line[0] == '{' || !strings.Contains(line, escapedBreak) {
		return "", false
	}
	// Log text is untrusted: a megabyte line of words and escaped breaks
	// must not cost a parser's Start per word per piece. A header is among
	// a line's first pieces and a piece's first words.
	piece, after, more := strings.Cut(strings.TrimSuffix(line, escapedBreak), escapedBreak)
	for k := 0; more && k < maxOneLinePieces; k++ {
		next, _, _ := strings.Cut(after, escapedBreak)
		if len(piece) <= maxOneLinePiece {
			words := 0
			for i := 0; i < len(piece) && words < maxOneLineWords; i++ {
				if i > 0 && piece[i-1] != ' ' {
					continue
				}
				words++
				for _, p := range parsers {
					if p.Start(piece[i:]) && p.Continue([]string{piece[i:]}, next) {
						return piece[i:] + "\n" + strings.ReplaceAll(after, escapedBreak, "\n"), true
					}
				}
			}
		}
		piece, after, more = strings.Cut(after, escapedBreak)
	}
	return "", false
}

// Bounds of the search for a one-line trace's header (see oneLineTrace).
const (
	maxOneLinePieces = 16
	maxOneLineWords  = 64
	maxOneLinePiece  = 8 << 10
)
