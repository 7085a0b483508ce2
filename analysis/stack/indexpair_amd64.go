//go:build !purego

package stack

import "golang.org/x/sys/cpu"

// indexPair returns the first i with s[i] == c0 and s[i+d] == c1, or -1.
// With AVX2 it tests thirty-two positions per step: the Go parser's
// markers may sit anywhere in a line, so every line of a log is searched
// for them, and a search for their rarest letter stopped at each of its
// many false hits.
func indexPair(s string, c0, c1 byte, d int) int {
	if hasAVX2 && len(s) >= d+32 {
		return indexPairAVX2(s, c0, c1, d)
	}
	return indexPairGeneric(s, c0, c1, d)
}

// indexPairs returns the first i where s[i] == a0 and s[i+d] == a1, or
// s[i] == b0 and s[i+d] == b1, or -1: one pass for two markers.
func indexPairs(s string, a0, a1, b0, b1 byte, d int) int {
	if hasAVX2 && len(s) >= d+32 {
		return indexPairsAVX2(s, a0, a1, b0, b1, d)
	}
	return indexPairsGeneric(s, a0, a1, b0, b1, d)
}

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func indexPairAVX2(s string, c0, c1 byte, d int) int

//go:noescape
func indexPairsAVX2(s string, a0, a1, b0, b1 byte, d int) int
