package gitrepo

import "strings"

// maxWrapLines bounds how many lines one statement may be wrapped over (or
// joined from) for rewrapped to find it: a formatter splits a long call
// into one line per argument, rarely more than a dozen.
const maxWrapLines = 12

// rewrapped finds old line i (0-based) among the new lines of hunk h when a
// formatter re-wrapped its statement: prettier, black or gofmt'd hand edits
// split a long line over several ("return items.reduce(\n  fn,\n  0,\n);")
// or join a wrapped one back onto one line. The statement is the same when
// its text, white space and trailing commas ignored, is the same; line
// matching (Carry's other steps) cannot see that, since no single line is
// alike. The statement's first new line is returned: where a reader looks
// for it, and the line a runtime names for most failures in it.
//
// Among several candidates the one nearest i's place in the hunk wins, as
// in matchInHunk.
func (d *Drift) rewrapped(h hunk, i int) (int, bool) {
	key := wrapKey(lineKey(d.old[i]))
	if len(key) < minFarMoveLen {
		return 0, false
	}
	want := h.newStart + (i - h.oldStart)
	best := -1
	consider := func(j int) {
		if best < 0 || abs(j-want) < abs(best-want) {
			best = j
		}
	}
	for j := h.newStart; j < h.newEnd; j++ {
		first := lineKey(d.new[j])
		if first == "" {
			continue
		}
		// Split: the old line is the new lines j, j+1, ... joined.
		if strings.HasPrefix(key, wrapKey(first)) && d.joinsTo(d.new, j, h.newEnd, key) {
			consider(j)
			continue
		}
		// Joined: the new line j is old lines a..b joined, i among them.
		if strings.Contains(wrapKey(first), strings.TrimSuffix(key, ",")) && d.joinedFrom(h, i, wrapKey(first)) {
			consider(j)
		}
	}
	return best, best >= 0
}

// joinsTo reports whether lines[j:k] for some k <= end, at least two lines,
// joined without white space give key (trailing commas ignored).
func (d *Drift) joinsTo(lines []string, j, end int, key string) bool {
	var b strings.Builder
	for k := j; k < end && k < j+maxWrapLines; k++ {
		l := lineKey(lines[k])
		if l == "" {
			return false
		}
		b.WriteString(l)
		got := wrapKey(b.String())
		if got == key {
			return k > j
		}
		// A comma may end a line: the closing bracket that drops it is next.
		if p := strings.TrimSuffix(got, ","); len(p) >= len(key) || !strings.HasPrefix(key, p) {
			return false
		}
	}
	return false
}

// joinedFrom reports whether some old lines a..b of hunk h around i, at
// least two, joined give key.
func (d *Drift) joinedFrom(h hunk, i int, key string) bool {
	for a := i; a >= h.oldStart && a > i-maxWrapLines; a-- {
		if lineKey(d.old[a]) == "" {
			return false
		}
		if d.joinsTo(d.old, a, h.oldEnd, key) && d.spans(a, i, key) {
			return true
		}
	}
	return false
}

// spans reports whether the old lines from a that join to key reach line i.
func (d *Drift) spans(a, i int, key string) bool {
	var b strings.Builder
	for k := a; k < len(d.old); k++ {
		b.WriteString(lineKey(d.old[k]))
		if wrapKey(b.String()) == key {
			return k >= i
		}
	}
	return false
}

// wrapKey drops the commas a formatter adds before a closing bracket when it
// puts each argument on a line of its own ("0,\n)" joins to "0,)").
func wrapKey(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	for _, r := range [...][2]string{{",)", ")"}, {",]", "]"}, {",}", "}"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}
