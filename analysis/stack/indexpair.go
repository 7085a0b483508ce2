package stack

import "strings"

// indexPairGeneric is indexPair with strings.IndexByte for c1, the rarer
// byte of its callers' pairs ('v' of "panic serving", ']').
func indexPairGeneric(s string, c0, c1 byte, d int) int {
	for i := d; i < len(s); {
		j := strings.IndexByte(s[i:], c1)
		if j < 0 {
			return -1
		}
		if k := i + j; s[k-d] == c0 {
			return k - d
		}
		i += j + 1
	}
	return -1
}

// indexPairsGeneric is indexPairs as two searches.
func indexPairsGeneric(s string, a0, a1, b0, b1 byte, d int) int {
	i, j := indexPairGeneric(s, a0, a1, d), indexPairGeneric(s, b0, b1, d)
	if i < 0 || j >= 0 && j < i {
		return j
	}
	return i
}
