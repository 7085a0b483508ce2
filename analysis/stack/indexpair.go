package stack

import "strings"

// indexPairGeneric is indexPair with strings.IndexByte for c0.
func indexPairGeneric(s string, c0, c1 byte, d int) int {
	for i := 0; i+d < len(s); {
		j := strings.IndexByte(s[i:len(s)-d], c0)
		if j < 0 {
			return -1
		}
		if s[i+j+d] == c1 {
			return i + j
		}
		i += j + 1
	}
	return -1
}
