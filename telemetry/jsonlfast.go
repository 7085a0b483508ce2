package telemetry

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// fastJSONLine decodes the shape logcli writes, one object holding
// "labels" (a flat object of strings), "line" (a string) and "timestamp" (a
// string or a bare number), without reflection or allocations beyond the
// line itself. It is the hot path of reading a log file: encoding/json
// spent most of a whole analysis here. Anything else (another key, nested
// values, a key with escapes, trailing bytes) returns ok=false, and the
// caller decodes with encoding/json, which also words the error.
func fastJSONLine(b []byte) (labels []byte, line string, ts []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, "", nil, false
	}
	i++
	var haveLine, haveTS bool
	for first := true; ; first = false {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, "", nil, false
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
				return nil, "", nil, false
			}
			i = skipSpace(b, i+1)
		}
		key, next, ok := plainString(b, i)
		if !ok {
			return nil, "", nil, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return nil, "", nil, false
		}
		i = skipSpace(b, i+1)
		switch string(key) {
		case "labels":
			end, ok := flatObject(b, i)
			if !ok {
				return nil, "", nil, false
			}
			labels, i = b[i:end], end
		case "line":
			s, end, ok := decodeString(b, i)
			if !ok {
				return nil, "", nil, false
			}
			line, i, haveLine = s, end, true
		case "timestamp":
			end, ok := scalar(b, i)
			if !ok {
				return nil, "", nil, false
			}
			ts, i, haveTS = b[i:end], end, true
		default:
			return nil, "", nil, false
		}
	}
	if skipSpace(b, i) != len(b) || !haveLine || !haveTS {
		return nil, "", nil, false
	}
	return labels, line, ts, true
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

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, true
		case '\\':
			j++
		}
	}
	return 0, false
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
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if j+1 >= len(b) {
				return 0, false
			}
			j++
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false
					}
				}
				j += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
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
	out := make([]byte, 0, len(b)-i)
	out = append(out, b[i+1:j]...)
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return string(out), j + 1, true
		case c < 0x20:
			return "", 0, false
		case c == '\\':
			if j+1 >= len(b) {
				return "", 0, false
			}
			j++
			switch b[j] {
			case '"', '\\', '/':
				out = append(out, b[j])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n, ok := unicodeEscape(b, j)
				if !ok {
					return "", 0, false
				}
				out = utf8.AppendRune(out, r)
				j = n - 1
			default:
				return "", 0, false
			}
			j++
		case c < utf8.RuneSelf:
			out = append(out, c)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes, as encoding/json
			j += size
		}
	}
	return "", 0, false
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
