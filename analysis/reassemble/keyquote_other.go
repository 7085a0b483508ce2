//go:build !amd64 || purego

package reassemble

// indexKeyQuote returns the first i with s[i] == '"' and keyByte(s[i+1]),
// or -1: where one of mayHoldTrace's keys may start.
func indexKeyQuote(s string) int { return indexKeyQuoteGeneric(s) }
