//go:build !amd64 || purego

package stack

// indexPair returns the first i with s[i] == c0 and s[i+d] == c1, or -1.
func indexPair(s string, c0, c1 byte, d int) int { return indexPairGeneric(s, c0, c1, d) }
