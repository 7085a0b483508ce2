//go:build !purego

package reassemble

import "golang.org/x/sys/cpu"

// indexKeyQuote returns the first i with s[i] == '"' and keyByte(s[i+1]),
// or -1: where one of mayHoldTrace's keys may start. With AVX2 it tests
// thirty-two positions per step; a JSON log line has dozens of quotes,
// most before values and keys that no hint starts like.
func indexKeyQuote(s string) int {
	if hasAVX2 && len(s) >= 33 {
		return indexKeyQuoteAVX2(s)
	}
	return indexKeyQuoteGeneric(s)
}

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func indexKeyQuoteAVX2(s string) int
