package codeactions

import (
	"regexp"
	"strings"
)

var (
	pyDefName      = regexp.MustCompile(`^(?:async\s+)?def\s+(\w+)\s*\(\s*(\w+)`)
	pyPropertyDeco = regexp.MustCompile(`^@(?:property|functools\.cached_property|cached_property|(\w+)\.(?:setter|getter|deleter))\s*$`)
)

// pyPropertyRecursion fixes the RecursionError of a property that reads
// or assigns itself: in `@tier.setter def tier(self, value)`, the line
// `self.tier = value` calls the setter again (and `return self.tier` in
// the getter calls the getter), forever. The value belongs in the
// backing attribute `self._tier`, which the other accessor already uses:
// the rule applies only when the file names `._tier` elsewhere.
type pyPropertyRecursion struct{}

func (pyPropertyRecursion) Name() string { return "python-property-recursion" }

func (pyPropertyRecursion) Fix(in Input) (Change, error) {
	if !matches(in, "python", "recursionerror", "maximum recursion depth exceeded") {
		return Change{}, notApplicable("not a RecursionError")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	name, self, ok := pyEnclosingProperty(in, l)
	if !ok {
		return Change{}, notApplicable("line %d is not in a property's accessor", in.Line)
	}
	ref, backing := self+"."+name, self+"._"+name
	if !pyMentionsElsewhere(in, l, "._"+name) {
		return Change{}, notApplicable("no backing attribute %s in %s", backing, in.Path)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(l.text); {
		if wordAt(l.text, i, ref) && !inString(l.text, i) &&
			(i+len(ref) == len(l.text) || !isIdentByteAt(l.text, i+len(ref))) {
			b.WriteString(backing)
			i += len(ref)
			n++
			continue
		}
		b.WriteByte(l.text[i])
		i++
	}
	if n == 0 {
		return Change{}, notApplicable("line %d does not use %s", in.Line, ref)
	}
	return Change{Title: "Use the backing attribute " + backing + " inside the " + name + " property",
		Content: replaceRange(l.src, l.start, l.end, b.String())}, nil
}

// pyEnclosingProperty finds the def enclosing line l and, when a property
// decorator (@property, @name.setter) sits on it, returns the property's
// name and the accessor's first parameter (self).
func pyEnclosingProperty(in Input, l *textLine) (name, self string, ok bool) {
	before := linesBefore(in.Content, in.Line)
	for k, t := range pyEnclosing(before, len(l.indent)) {
		m := pyDefName.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		for _, d := range before[k+1:] {
			d = strings.TrimSpace(d)
			if !strings.HasPrefix(d, "@") {
				break
			}
			if dm := pyPropertyDeco.FindStringSubmatch(d); dm != nil && (dm[1] == "" || dm[1] == m[1]) {
				return m[1], m[2], true
			}
		}
		return "", "", false
	}
	return "", "", false
}

// pyMentionsElsewhere reports whether the file uses the attribute ref
// (".name", of any object, not the head of a longer name) on a line other
// than l.
func pyMentionsElsewhere(in Input, l *textLine, ref string) bool {
	for i, line := range strings.Split(string(in.Content), "\n") {
		if i+1 == in.Line {
			continue
		}
		for j := strings.Index(line, ref); j >= 0; {
			if j > 0 && isIdentByteAt(line, j-1) && (j+len(ref) == len(line) || !isIdentByteAt(line, j+len(ref))) {
				return true
			}
			k := strings.Index(line[j+1:], ref)
			if k < 0 {
				break
			}
			j += 1 + k
		}
	}
	return false
}

func isIdentByteAt(s string, i int) bool {
	c := s[i]
	return c == '_' || isAlnum(c)
}
