package telemetry

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxLineBytes is the longest line kept whole. Longer lines are cut here and
// the rest discarded: one runaway line (a dumped request body, a minified
// bundle) must neither exhaust memory nor stop the read.
const MaxLineBytes = 1 << 20

// lineReader reads lines of any length from r without bufio.Scanner's 64K
// limit, keeping at most MaxLineBytes of each.
type lineReader struct {
	r     *bufio.Reader
	buf   []byte
	line  int   // 1-based number of the line last returned
	bytes int64 // bytes consumed, newlines included
}

func newLineReader(r *bufio.Reader) *lineReader { return &lineReader{r: r} }

// next returns the next line without its line ending. The slice is valid
// until the following call. truncated reports that bytes beyond MaxLineBytes
// were dropped. At the end of input it returns io.EOF.
func (lr *lineReader) next() (line []byte, truncated bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, rerr := lr.r.ReadSlice('\n')
		lr.bytes += int64(len(chunk))
		content := bytes.TrimSuffix(chunk, []byte{'\n'})
		if room := MaxLineBytes - len(lr.buf); len(content) > room {
			content = content[:room]
			truncated = true
		}
		lr.buf = append(lr.buf, content...)
		switch {
		case rerr == bufio.ErrBufferFull:
			continue
		case rerr == io.EOF && len(lr.buf) == 0 && !truncated:
			return nil, false, io.EOF
		case rerr != nil && rerr != io.EOF:
			return nil, false, rerr
		}
		lr.line++
		return bytes.TrimSuffix(lr.buf, []byte{'\r'}), truncated, nil
	}
}

// validString converts b to a string, replacing invalid UTF-8 (including a
// rune cut by truncation) with U+FFFD.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// truncateString cuts s to at most MaxLineBytes bytes on a rune boundary.
func truncateString(s string) (string, bool) {
	if len(s) <= MaxLineBytes {
		return s, false
	}
	cut := MaxLineBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}

// isBinary reports whether b looks like binary data rather than text: it
// holds a NUL byte, or more than 30% of it is control characters or invalid
// UTF-8. Tabs and ANSI colour escapes count as text.
func isBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	bad := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != 0x1b) || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		i += size
	}
	return bad*10 > len(b)*3
}
