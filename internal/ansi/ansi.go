// Package ansi removes terminal colour sequences, which log lines often
// carry (a logger writing to a terminal, a CI runner capturing one).
package ansi

import "strings"

// Strip removes CSI escape sequences (ESC '[' parameters final-byte).
func Strip(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
