//go:build !amd64 || purego

package stack

// indexPair returns the first i with s[i] == c0 and s[i+d] == c1, or -1.
func indexPair(s string, c0, c1 byte, d int) int { return indexPairGeneric(s, c0, c1, d) }

// indexPairs returns the first i where s[i] == a0 and s[i+d] == a1, or
// s[i] == b0 and s[i+d] == b1, or -1.
func indexPairs(s string, a0, a1, b0, b1 byte, d int) int {
	return indexPairsGeneric(s, a0, a1, b0, b1, d)
}
