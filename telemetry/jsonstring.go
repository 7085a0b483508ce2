package telemetry

import "math/bits"

// scanString is checkString that also reports the string's escapes and
// whether it holds bytes past ASCII.
//
// It reads 64 bytes per step as bit masks (blockMasks: one bit per byte for
// quotes, backslashes, control characters and bytes past ASCII) and finds
// the escaped characters with the carry arithmetic simdjson uses, so that
// a line of JSON logged inside a JSON string, whose every quote is escaped,
// costs no more than plain text. Stepping from escape to escape (the
// previous scheme) cost a mispredicted branch each: 143 ns for a slog line
// with 22 escaped quotes.
func scanString(b []byte, i int) (end int, escaped escapes, nonASCII, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, false
	}
	var carry uint64 // the first byte of the next block is escaped
	var tail [64]byte
	for j := i + 1; ; j += 64 {
		var quote, backslash, control, high uint64
		full := j+64 <= len(b)
		switch {
		case full:
			quote, backslash, control, high = blockMasks((*[64]byte)(b[j : j+64]))
		case len(b) >= 64:
			// The last 64 bytes, less those already read.
			quote, backslash, control, high = blockMasks((*[64]byte)(b[len(b)-64:]))
			seen := j - (len(b) - 64)
			quote, backslash, control, high = quote>>seen, backslash>>seen, control>>seen, high>>seen
		default:
			n := copy(tail[:], b[j:])
			clear(tail[n:])
			quote, backslash, control, high = blockMasks(&tail)
			valid := uint64(1)<<n - 1
			quote, backslash, control, high = quote&valid, backslash&valid, control&valid, high&valid
		}
		// The characters escaped: each after a backslash ending a run of
		// odd length, runs carried across blocks.
		potential := backslash &^ carry
		code := ((potential<<1 | oddBits) - potential) ^ oddBits
		esc := code ^ (backslash | carry)
		carry = (code & backslash) >> 63
		if !full {
			esc &= uint64(1)<<(len(b)-j) - 1
		}
		closing := quote &^ esc
		before := closing&-closing - 1 // the bytes before the closing quote; all when there is none
		if control&before != 0 {
			return 0, 0, false, false
		}
		nonASCII = nonASCII || high&before != 0
		if esc&before != 0 {
			escaped |= escAny
			if esc&before&backslash != 0 {
				escaped |= escBackslash
			}
		}
		// \" and \\ are already known valid; the rest are looked up.
		for m := esc & before &^ (quote | backslash); m != 0; m &= m - 1 {
			k := j + bits.TrailingZeros64(m)
			switch e := escapeOf[b[k]]; e {
			case 0:
				return 0, 0, false, false
			case escAny | escUnicode:
				if k+4 >= len(b) || !isHex(b[k+1]) || !isHex(b[k+2]) || !isHex(b[k+3]) || !isHex(b[k+4]) {
					return 0, 0, false, false
				}
				escaped |= e
			default:
				escaped |= e
			}
		}
		if closing != 0 {
			return j + bits.TrailingZeros64(closing) + 1, escaped, nonASCII, true
		}
		if !full {
			return 0, 0, false, false
		}
	}
}

// oddBits marks the odd bytes of a block.
const oddBits = 0xaaaaaaaaaaaaaaaa

// escapeOf is what the character after a backslash makes the string hold:
// zero when it is no JSON escape.
var escapeOf = [256]escapes{
	'"': escAny, '\\': escAny, '/': escAny, 'b': escAny, 'f': escAny, 'r': escAny, 't': escAny,
	'n': escAny | escNewline, 'u': escAny | escUnicode,
}

func isHex(h byte) bool { return h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F' }

// blockMasksGeneric is blockMasks eight bytes at a time in Go, for
// processors without an assembly version. Each flag is exact: a byte is
// compared by adding 0x7f to its low seven bits, which carries into the top
// bit unless they are all zero, and no carry crosses into the next byte.
func blockMasksGeneric(p *[64]byte) (quote, backslash, control, high uint64) {
	for w := 7; w >= 0; w-- {
		x := uint64(p[w*8]) | uint64(p[w*8+1])<<8 | uint64(p[w*8+2])<<16 | uint64(p[w*8+3])<<24 |
			uint64(p[w*8+4])<<32 | uint64(p[w*8+5])<<40 | uint64(p[w*8+6])<<48 | uint64(p[w*8+7])<<56
		quote = quote<<8 | topBits(zeroBytes(x^(lsbs*'"')))
		backslash = backslash<<8 | topBits(zeroBytes(x^(lsbs*'\\')))
		// A control character is a byte below 0x20: its top three bits are zero.
		control = control<<8 | topBits(zeroBytes(x&(lsbs*0xe0)))
		high = high<<8 | topBits(x&msbs)
	}
	return quote, backslash, control, high
}

// zeroBytes sets the top bit of each byte of x that is zero, exactly.
func zeroBytes(x uint64) uint64 {
	const low7 = lsbs * 0x7f
	return ^((x&low7 + low7) | x | low7)
}

// topBits gathers the top bit of each byte of x (the others zero) into the
// low eight bits, byte i to bit i.
func topBits(x uint64) uint64 {
	return (x >> 7) * 0x0102040810204080 >> 56
}
