package telemetry

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonlTokens are the raw parts of one logcli line, as fastJSONLine found
// and checked them.
type jsonlTokens struct {
	labels []byte // the label object (or null)
	// known is the label set when labels was found in the known cache.
	known map[string]string
	line  []byte // the quoted line string
	// esc and nonASCII say which escapes line holds and whether it holds
	// bytes past ASCII: when neither, its content is its decoded value.
	esc      escapes
	nonASCII bool
	ts       []byte // the timestamp, a string or a number
	// time is ts read, when timed: logcliShape reads logcli's own time
	// layout, whose success also proves the string plain.
	time  time.Time
	timed bool
}

// fastJSONLine reads the shape logcli writes, one object holding "labels" (a
// flat object of strings), "line" (a string) and "timestamp" (a string or a
// bare number), without reflection or allocations. It returns the raw
// tokens, checked as encoding/json would check them; the line is decoded
// only when the entry is needed. It is the hot path of reading a log file:
// encoding/json spent most of a whole analysis here. Anything else (another
// key, nested values, a key with escapes, trailing bytes) returns ok=false,
// and the caller decodes with encoding/json, which also words the error.
// known, when not nil, holds the label objects already seen; minute, when
// not nil, lets logcliShape read the time.
func fastJSONLine(b []byte, known *labelCache, minute *minuteCache) (t jsonlTokens, ok bool) {
	if t, end, ok := logcliShape(b, known, minute); ok && end == len(b) {
		return t, true
	}
	return generalJSONLine(b, known)
}

// generalJSONLine is fastJSONLine for any order of the keys and blanks.
func generalJSONLine(b []byte, known *labelCache) (t jsonlTokens, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return t, false
	}
	i++
	var haveLine, haveTS bool
	for first := true; ; first = false {
		i = skipSpace(b, i)
		if i >= len(b) {
			return t, false
		}
		if b[i] == '}' && first {
			i++
			break
		}
		if !first {
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return t, false
			}
			i = skipSpace(b, i+1)
		}
		key, next, ok := plainString(b, i)
		if !ok {
			return t, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return t, false
		}
		i = skipSpace(b, i+1)
		switch string(key) {
		case "labels":
			// A label object already read is not checked again: the
			// bytes up to its first '}' are exactly a known, valid object.
			if j := bytes.IndexByte(b[i:], '}'); j >= 0 && known != nil {
				if m, ok := known.get(b[i : i+j+1]); ok {
					t.labels, t.known, i = b[i:i+j+1], m, i+j+1
					continue
				}
			}
			end, ok := flatObject(b, i)
			if !ok {
				return t, false
			}
			t.labels, t.known, i = b[i:end], nil, end
		case "line":
			end, esc, nonASCII, ok := scanString(b, i)
			if !ok {
				return t, false
			}
			t.line, t.esc, t.nonASCII, i, haveLine = b[i:end], esc, nonASCII, end, true
		case "timestamp":
			end, ok := scalar(b, i)
			if !ok {
				return t, false
			}
			t.ts, i, haveTS = b[i:end], end, true
		default:
			return t, false
		}
	}
	if skipSpace(b, i) != len(b) || !haveLine || !haveTS {
		return jsonlTokens{}, false
	}
	return t, true
}

// The exact bytes logcli writes around an entry's values.
const (
	shapeLabels = `{"labels":`
	shapeLine   = `,"line":`
	shapeTS     = `,"timestamp":"`
)

// logcliShape is fastJSONLine for the one shape logcli writes, keys in its
// order without blanks, with a label object already known: every entry of
// a file but the first of each stream. It checks what fastJSONLine checks,
// without its general key loop, and returns false for anything else. With
// a minute cache it also reads the time when it is in logcli's layout.
// The entry ends at b[end]: b may run on past the line, so that a reader
// need not find the line's end first, and it holds the whole line only
// when a line end (or the end of b) follows.
func logcliShape(b []byte, known *labelCache, minute *minuteCache) (t jsonlTokens, end int, ok bool) {
	if known == nil || !bytes.HasPrefix(b, []byte(shapeLabels)) {
		return t, 0, false
	}
	i := len(shapeLabels)
	j := bytes.IndexByte(b[i:], '}')
	if j < 0 {
		return t, 0, false
	}
	labels := b[i : i+j+1]
	m, ok := known.get(labels)
	if !ok {
		return t, 0, false
	}
	i += j + 1
	if !bytes.HasPrefix(b[i:], []byte(shapeLine)) {
		return t, 0, false
	}
	i += len(shapeLine)
	end, esc, nonASCII, ok := scanString(b, i)
	if !ok || !bytes.HasPrefix(b[end:], []byte(shapeTS)) {
		return t, 0, false
	}
	line := b[i:end]
	i = end + len(shapeTS) // inside the timestamp string
	k := bytes.IndexByte(b[i:], '"')
	if k < 0 || i+k+1 >= len(b) || b[i+k+1] != '}' {
		return t, 0, false
	}
	t = jsonlTokens{labels: labels, known: m, line: line, esc: esc, nonASCII: nonASCII, ts: b[i-1 : i+k+1]}
	if minute != nil {
		if t.time, t.timed = minute.rfc3339(b[i : i+k]); t.timed {
			return t, i + k + 2, true // digits and the layout's punctuation: a plain string
		}
	}
	for _, c := range b[i : i+k] { // a plain string, as the time in it must be
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			return jsonlTokens{}, 0, false
		}
	}
	return t, i + k + 2, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// plainString reads a string without escapes starting at b[i] == '"'.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// flatObject returns the index after an object whose values are all
// strings ({"k":"v",...}), or null.
func flatObject(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	if b[i] == 'n' && len(b) >= i+4 && string(b[i:i+4]) == "null" {
		return i + 4, true
	}
	if b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		end, ok := checkString(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		if end, ok = checkString(b, skipSpace(b, i+1)); !ok {
			return 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case '}':
			return i + 1, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, false
		}
	}
}

// checkString returns the index after the JSON string at b[i], checking it
// as encoding/json would (no raw control characters, valid escapes),
// without building the string.
func checkString(b []byte, i int) (int, bool) {
	end, _, _, ok := scanString(b, i)
	return end, ok
}

// escapes says which escapes a JSON string holds.
type escapes uint8

const (
	escAny       escapes = 1 << iota // any escape
	escUnicode                       // a \uXXXX escape
	escNewline                       // a \n escape: the line holds several
	escBackslash                     // a \\ escape: the line holds a backslash
)

// SWAR constants: one byte repeated over a word, and each byte's top bit.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// specialBytes flags, in each byte's top bit, the bytes of x that end a
// plain run inside a JSON string: '"', '\', control characters and
// non-ASCII. The lowest flag is exact (borrows only run upwards), which is
// all its callers use.
func specialBytes(x uint64) uint64 {
	q := x ^ (lsbs * '"')
	bs := x ^ (lsbs * '\\')
	return (((q - lsbs) &^ q) | ((bs - lsbs) &^ bs) | ((x - lsbs*0x20) &^ x) | x) & msbs
}

// scalar returns the index after a string or a number.
func scalar(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	if b[i] == '"' {
		return checkString(b, i)
	}
	return number(b, i)
}

// number returns the index after a JSON number at b[i]:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) (int, bool) {
	digits := func(j int) int {
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digits(j)
	default:
		return 0, false
	}
	if j < len(b) && b[j] == '.' {
		k := digits(j + 1)
		if k == j+1 {
			return 0, false
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := digits(j)
		if k == j {
			return 0, false
		}
		j = k
	}
	return j, true
}

// decodeString decodes the JSON string starting at b[i] == '"' the way
// encoding/json does: escapes resolved, invalid UTF-8 and lone surrogates
// replaced by U+FFFD.
func decodeString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	j := i + 1
	for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 && b[j] < utf8.RuneSelf {
		j++
	}
	if j < len(b) && b[j] == '"' { // plain ASCII: the common case
		return string(b[i+1 : j]), j + 1, true
	}
	out, end, ok := appendDecoded(make([]byte, 0, len(b)-i), b, i)
	if !ok {
		return "", 0, false
	}
	return string(out), end, true
}

// appendDecoded appends the decoded JSON string starting at b[i] == '"' to
// dst, as decodeString, and returns the index after it.
func appendDecoded(dst []byte, b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return dst, 0, false
	}
	j := i + 1
	for j < len(b) {
		// Copy the plain run up to the next quote, escape, control or
		// non-ASCII byte in one append.
		k := j
		for k+8 <= len(b) {
			if m := specialBytes(binary.LittleEndian.Uint64(b[k:])); m != 0 {
				k += bits.TrailingZeros64(m) >> 3
				break
			}
			k += 8
		}
		if k > j {
			dst = append(dst, b[j:k]...)
			j = k
			if j >= len(b) {
				break
			}
		}
		c := b[j]
		switch {
		case c == '"':
			return dst, j + 1, true
		case c < 0x20:
			return dst, 0, false
		case c == '\\':
			if j+1 >= len(b) {
				return dst, 0, false
			}
			j++
			if d, ok := shortEscape(b[j]); ok {
				dst = append(dst, d)
			} else if b[j] == 'u' {
				r, n, ok := unicodeEscape(b, j)
				if !ok {
					return dst, 0, false
				}
				dst = utf8.AppendRune(dst, r)
				j = n - 1
			} else {
				return dst, 0, false
			}
			j++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			dst = utf8.AppendRune(dst, r) // RuneError for invalid bytes, as encoding/json
			j += size
		}
	}
	return dst, 0, false
}

// appendUnescaped appends the decoded content of a JSON string that
// scanString has checked and found to be ASCII (s is what lies between the
// quotes). The checks done, decoding is copying the runs between
// backslashes, which bytes.IndexByte finds many bytes at a time.
func appendUnescaped(dst, s []byte) []byte {
	var tail [64]byte
	for i := 0; i < len(s); {
		// The backslashes of the next 64 bytes from i, found at once.
		n := min(64, len(s)-i)
		var bs uint64
		if n == 64 {
			_, bs, _, _ = blockMasks((*[64]byte)(s[i : i+64]))
		} else {
			copy(tail[:], s[i:])
			clear(tail[n:])
			_, bs, _, _ = blockMasks(&tail)
		}
		from := i // the next byte not yet copied
		for bs != 0 {
			k := i + bits.TrailingZeros64(bs)
			if k+1 >= len(s) {
				break // a lone backslash at the end, copied as is
			}
			dst = append(dst, s[from:k]...)
			from = k + 2
			if d, ok := shortEscape(s[k+1]); ok {
				dst = append(dst, d)
			} else { // 'u', the only other escape scanString lets through
				r, next, _ := unicodeEscape(s, k+1)
				dst = utf8.AppendRune(dst, r)
				from = next
			}
			if from-i >= 64 {
				break
			}
			bs &^= 1<<(from-i) - 1 // backslashes inside the escape are not escapes
		}
		if from < i+n {
			dst = append(dst, s[from:i+n]...)
			from = i + n
		}
		i = from
	}
	return dst
}

// shortEscape returns the byte a two-character escape (\n, \", ...)
// stands for, given its second character.
func shortEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// unicodeEscape reads \uXXXX (b[j] == 'u'), combining a surrogate pair.
func unicodeEscape(b []byte, j int) (rune, int, bool) {
	hex := func(at int) (rune, bool) {
		if at+4 > len(b) {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(j + 1)
	if !ok {
		return 0, 0, false
	}
	next := j + 5
	if utf16.IsSurrogate(r) {
		if next+6 <= len(b) && b[next] == '\\' && b[next+1] == 'u' {
			if r2, ok := hex(next + 2); ok {
				if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
					return c, next + 6, true
				}
			}
		}
		return utf8.RuneError, next, true
	}
	return r, next, true
}
