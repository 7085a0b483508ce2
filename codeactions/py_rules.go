package codeactions

import (
	"iter"
	"regexp"
	"strings"
)

// pyExit returns how a guard inserted before the crashing line leaves:
// `continue` in a loop, `return None` in a function; ok=false at module
// level or when the line continues a statement.
func pyExit(in Input, l *textLine) (string, bool) {
	if len(l.indent) == 0 {
		return "", false
	}
	for _, t := range pyEnclosing(linesBefore(in.Content, in.Line), len(l.indent)) {
		switch {
		case strings.HasPrefix(t, "for ") || strings.HasPrefix(t, "while ") || strings.HasPrefix(t, "async for "):
			return "continue", true
		case strings.HasPrefix(t, "def ") || strings.HasPrefix(t, "async def "):
			return "return None", true
		}
	}
	return "", false
}

// pyEnclosing yields the statements that enclose a line indented by indent,
// innermost first, from before (the lines above it, nearest first): each
// line, not blank nor a comment, indented less than the last one yielded,
// trimmed, with its index in before. It ends at the module level.
func pyEnclosing(before []string, indent int) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for k, prev := range before {
			t := strings.TrimSpace(prev)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			ind := len(prev) - len(strings.TrimLeft(prev, " \t"))
			if ind >= indent {
				continue
			}
			indent = ind
			if !yield(k, t) || ind == 0 {
				return
			}
		}
	}
}

// pyGuard inserts `if cond:` + exit before the crashing line.
func pyGuard(in Input, l *textLine, cond string) ([]byte, error) {
	if strings.HasPrefix(l.code, "elif ") || strings.HasPrefix(l.code, "else") || strings.HasPrefix(l.code, "except") ||
		strings.HasPrefix(l.code, "finally") || strings.HasPrefix(l.code, ")") {
		return nil, notApplicable("cannot put a guard before %q", l.code)
	}
	if prev := linesBefore(in.Content, in.Line); len(prev) > 0 {
		p := strings.TrimSpace(prev[0])
		if strings.HasSuffix(p, "\\") || strings.HasSuffix(p, ",") || strings.HasSuffix(p, "(") {
			return nil, notApplicable("line %d continues a statement", in.Line)
		}
	}
	exit, ok := pyExit(in, l)
	if !ok {
		return nil, notApplicable("line %d is not inside a function or loop", in.Line)
	}
	return l.replace("if "+cond+":", indentUnit(in.Content)+exit, l.code), nil
}

var pyDivisor = regexp.MustCompile(`(//|/|%)\s*(` + identChain + `(?:\[[^\[\]]+\](?:\.` + identChain + `)?)*(?:\([^()]*\))?|\([^()]*\))`)

// pyZeroDiv guards the divisor of the division that raised
// ZeroDivisionError; the function then returns None (or the loop
// continues), Python's "no value".
type pyZeroDiv struct{}

func (pyZeroDiv) Name() string { return "python-zero-division" }

func (pyZeroDiv) Fix(in Input) (Change, error) {
	if !matches(in, "python", "zerodivisionerror") {
		return Change{}, notApplicable("not a ZeroDivisionError")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	var divisors []string
	seen := map[string]bool{}
	for _, m := range pyDivisor.FindAllStringSubmatchIndex(l.text, -1) {
		op, d := l.text[m[2]:m[3]], l.text[m[4]:m[5]]
		if inString(l.text, m[0]) || (op == "%" && strings.ContainsAny(strings.TrimSpace(l.text[:m[0]])[max(0, len(strings.TrimSpace(l.text[:m[0]]))-1):], `"'`)) {
			continue
		}
		if strings.HasSuffix(d, "()") || numberLit.MatchString(d) || seen[d] {
			continue
		}
		if call := strings.IndexByte(d, '('); call > 0 && d[:call] != "len" {
			// A call with arguments (count(rows)) may cost or change
			// something when called twice; len(x) does neither. Its name
			// alone ("count") is not the divisor.
			continue
		}
		seen[d] = true
		divisors = append(divisors, d)
	}
	if len(divisors) == 0 {
		return Change{}, notApplicable("no divisor on line %d", in.Line)
	}
	if len(divisors) == 1 {
		d := divisors[0]
		if text, ok, err := pyComprehensionFilter(l.text, d, d+" != 0"); err != nil {
			return Change{}, err
		} else if ok {
			return Change{Title: "Skip the items whose " + d + " is 0",
				Content: replaceRange(in.Content, l.start, l.end, text)}, nil
		}
	}
	conds := make([]string, len(divisors))
	for i, d := range divisors {
		conds[i] = d + " == 0"
	}
	out, err := pyGuard(in, l, strings.Join(conds, " or "))
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Guard against division by zero (" + strings.Join(divisors, ", ") + " == 0)", Content: out}, nil
}

var pyAttrMsg = regexp.MustCompile(`'NoneType' object has no attribute '(\w+)'`)

// pyNoneAttr guards the object that was None when an attribute was read
// (AttributeError: 'NoneType' object has no attribute 'x').
type pyNoneAttr struct{}

func (pyNoneAttr) Name() string { return "python-none-attribute" }

func (pyNoneAttr) Fix(in Input) (Change, error) {
	if !matches(in, "python", "attributeerror") {
		return Change{}, notApplicable("not an AttributeError")
	}
	m := pyAttrMsg.FindStringSubmatch(in.Incident.Message)
	if m == nil {
		return Change{}, notApplicable("the AttributeError is not about None")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	// The receiver may be subscripted: self.meta["changed_by"].strip().
	re := regexp.MustCompile(`(` + identChain + `(?:\[[^\[\]]+\])*)\.` + m[1] + `\b`)
	var recv string
	for _, loc := range re.FindAllStringSubmatchIndex(l.text, -1) {
		r := l.text[loc[2]:loc[3]]
		if r != "self" && !inString(l.text, loc[0]) && (loc[2] == 0 || l.text[loc[2]-1] != '.') {
			recv = r
			break
		}
	}
	if recv == "" {
		return Change{}, notApplicable("no .%s on line %d", m[1], in.Line)
	}
	if text, ok, err := pyComprehensionFilter(l.text, recv, recv+" is not None"); err != nil {
		return Change{}, err
	} else if ok {
		return Change{Title: "Skip the items whose " + recv + " is None",
			Content: replaceRange(in.Content, l.start, l.end, text)}, nil
	}
	out, err := pyGuard(in, l, recv+" is None")
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Guard against " + recv + " being None", Content: out}, nil
}

var pyKeyMsg = regexp.MustCompile(`KeyError: (.+)$`)

// pyKeyError turns the subscript that raised KeyError into .get(key). When
// its result is itself the key of a module-level table of numbers, that
// lookup becomes .get(..., 0) too: a missing entry counts as nothing
// instead of raising the next KeyError.
type pyKeyError struct{}

func (pyKeyError) Name() string { return "python-key-error" }

func (pyKeyError) Fix(in Input) (Change, error) {
	if !matches(in, "python", "keyerror") {
		return Change{}, notApplicable("not a KeyError")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	key := ""
	if m := pyKeyMsg.FindStringSubmatch(strings.TrimSpace(in.Incident.Message)); m != nil {
		key = strings.TrimSpace(m[1])
	}
	start, end, recv, keyText := pySubscript(l.text, key)
	if start < 0 {
		return Change{}, notApplicable("no subscript for key %s on line %d", key, in.Line)
	}
	rest := strings.TrimSpace(l.text[end:])
	if strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "==") || regexp.MustCompile(`^[-+*/%|&]=`).MatchString(rest) || strings.HasPrefix(l.code, "del ") {
		return Change{}, notApplicable("the subscript is written, not read")
	}
	def := numericDefault(in.Content, recv)
	if id, ok := augmentedIdentity(l.text[:start], l.text[end:]); ok {
		// `total *= d[k]`: a missing factor leaves total as it was.
		def = ", " + id
	}
	get := recv + ".get(" + keyText + def + ")"
	text := l.text[:start] + get + l.text[end:]
	// the looked-up value used as the key of an outer table: D[x.get(k)]
	if start > 0 && text[start-1] == '[' && end < len(l.text) && l.text[end] == ']' {
		if outer := regexp.MustCompile(`(` + identChain + `)\[$`).FindStringSubmatchIndex(text[:start]); outer != nil {
			d := text[outer[2]:outer[3]]
			if def := numericDefault(in.Content, d); def != "" {
				closeAt := start + len(get)
				text = text[:outer[2]] + d + ".get(" + get + def + ")" + text[closeAt+1:]
			}
		}
	}
	return Change{Title: "Use " + get + " for a missing key", Content: replaceRange(in.Content, l.start, l.end, text)}, nil
}

// augmentedIdentity reports whether a subscript is the whole right-hand
// side of an augmented assignment (before and after are the line around
// it) and returns the operator's identity: the default under which a
// missing key changes nothing (`points *= campaign["multiplier"]`).
func augmentedIdentity(before, after string) (string, bool) {
	m := pyAugmented.FindStringSubmatch(before)
	if m == nil || !pyLineEnd.MatchString(after) {
		return "", false
	}
	switch m[1] {
	case "*", "/", "//", "**":
		return "1", true
	case "+", "-", "|", "^":
		return "0", true
	}
	return "", false
}

var (
	pyAugmented = regexp.MustCompile(`^\s*` + identChain + `\s*(\*\*|//|[-+*/|^])=\s*$`)
	pyLineEnd   = regexp.MustCompile(`^\s*(#.*)?$`)
)

// pySubscript finds recv[key] on the line: the literal key the error
// names, or the only subscript when the key is a variable. The receiver
// may itself be subscripted (order["campaign"]["multiplier"]).
func pySubscript(line, key string) (start, end int, recv, keyText string) {
	if start, end, recv, keyText = pySubscriptOf(line, key, `(`+identChain+`)\[([^\[\]]+)\]`); start >= 0 {
		return start, end, recv, keyText
	}
	return pySubscriptOf(line, key, `(`+identChain+`(?:\[[^\[\]]+\])+)\[([^\[\]]+)\]`)
}

func pySubscriptOf(line, key, pattern string) (start, end int, recv, keyText string) {
	re := regexp.MustCompile(pattern)
	all := re.FindAllStringSubmatchIndex(line, -1)
	var fallback []int
	n := 0
	for _, m := range all {
		if inString(line, m[0]) {
			continue
		}
		k := strings.TrimSpace(line[m[4]:m[5]])
		if key != "" && (k == key || swapQuotes(k) == key) {
			return m[0], m[1], line[m[2]:m[3]], k
		}
		if regexp.MustCompile(`^` + identChain + `$`).MatchString(k) {
			fallback = m
			n++
		}
	}
	if n == 1 {
		return fallback[0], fallback[1], line[fallback[2]:fallback[3]], strings.TrimSpace(line[fallback[4]:fallback[5]])
	}
	return -1, -1, "", ""
}

func swapQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return "'" + s[1:len(s)-1] + "'"
	}
	return s
}

// numericDefault returns ", 0" when name is a module-level dict literal
// whose values are all numbers, else "".
func numericDefault(src []byte, name string) string {
	re := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(name) + `\s*=\s*\{(.*?)\}`)
	m := re.FindSubmatch(src)
	if m == nil {
		return ""
	}
	vals := regexp.MustCompile(`:\s*([^,]+)`).FindAllSubmatch(m[1], -1)
	if len(vals) == 0 {
		return ""
	}
	for _, v := range vals {
		if !numberLit.Match([]byte(strings.TrimSpace(string(v[1])))) {
			return ""
		}
	}
	return ", 0"
}

var (
	pyCompFor = regexp.MustCompile(`\b(?:async\s+)?for\s+([\w\s,()]+?)\s+in\b`)
	pyLambda  = regexp.MustCompile(`\blambda\s*([\w\s,*=]*):`)
)

// pyComprehensionFilter handles an expression whose root name is bound on
// the line itself, by a comprehension or a generator expression
// (`sum(p.weight.kg for p in self.parcels)`) or a lambda: a guard
// before the line cannot see that name. For a comprehension it adds
// `if cond` to it, skipping the items that fail (ok=true); for a lambda it
// gives up with an error.
func pyComprehensionFilter(line, expr, cond string) (string, bool, error) {
	root := expr
	if i := strings.IndexAny(root, ".[("); i >= 0 {
		root = root[:i]
	}
	binds := func(names string) bool {
		for _, f := range strings.FieldsFunc(names, func(r rune) bool { return !isAlnum(byte(r)) && r != '_' }) {
			if f == root {
				return true
			}
		}
		return false
	}
	for _, m := range pyLambda.FindAllStringSubmatchIndex(line, -1) {
		if !inString(line, m[0]) && binds(line[m[2]:m[3]]) {
			return "", false, notApplicable("%s is a lambda's parameter", root)
		}
	}
	for _, m := range pyCompFor.FindAllStringSubmatchIndex(line, -1) {
		if inString(line, m[0]) || !binds(line[m[2]:m[3]]) {
			continue
		}
		// The comprehension ends at the bracket that closes around it.
		depth := 0
		var quote byte
		for i := m[1]; i < len(line); i++ {
			c := line[i]
			switch {
			case quote != 0:
				if c == '\\' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '(' || c == '[' || c == '{':
				depth++
			case c == ')' || c == ']' || c == '}':
				if depth == 0 {
					at := i
					for at > 0 && line[at-1] == ' ' {
						at--
					}
					join := " if "
					// An `if` clause already filters: extend it, unless
					// `or` would bind looser than the added `and`.
					if c := strings.LastIndex(line[m[1]:at], " if "); c >= 0 && !inString(line, m[1]+c) &&
						!strings.Contains(line[m[1]+c:at], " or ") && !strings.Contains(line[m[1]+c:at], " for ") {
						join = " and "
					}
					return line[:at] + join + cond + line[at:], true, nil
				}
				depth--
			case c == '#':
				return "", false, nil
			}
		}
		return "", false, nil
	}
	return "", false, nil
}
