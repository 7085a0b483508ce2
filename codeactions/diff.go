package codeactions

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// UnifiedDiff renders the change of one file as a git-style unified diff
// with a/ and b/ prefixes, so that `git apply` accepts it at the repository
// root. path is repo-relative with forward slashes. A file without a final
// newline gets git's "\ No newline at end of file" marker. Equal contents
// give "".
func UnifiedDiff(path string, before, after []byte) string {
	if string(before) == string(after) {
		return ""
	}
	a, b := splitLines(string(before)), splitLines(string(after))
	m := difflib.NewMatcher(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "diff --git a/%s b/%s\n--- a/%s\n+++ b/%s\n", path, path, path, path)
	for _, group := range m.GetGroupedOpCodes(3) {
		first, last := group[0], group[len(group)-1]
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(first.I1, last.I2), hunkRange(first.J1, last.J2))
		for _, c := range group {
			if c.Tag == 'e' {
				writeLines(&out, ' ', a[c.I1:c.I2])
				continue
			}
			if c.Tag == 'r' || c.Tag == 'd' {
				writeLines(&out, '-', a[c.I1:c.I2])
			}
			if c.Tag == 'r' || c.Tag == 'i' {
				writeLines(&out, '+', b[c.J1:c.J2])
			}
		}
	}
	return out.String()
}

// splitLines splits after each newline; the last line keeps no newline when
// the text has none, which writeLines marks.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(out *strings.Builder, prefix byte, lines []string) {
	for _, l := range lines {
		out.WriteByte(prefix)
		out.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange formats a 0-based half-open range as a unified diff range.
func hunkRange(start, stop int) string {
	begin, length := start+1, stop-start
	switch length {
	case 1:
		return fmt.Sprint(begin)
	case 0:
		return fmt.Sprintf("%d,0", begin-1)
	}
	return fmt.Sprintf("%d,%d", begin, length)
}
