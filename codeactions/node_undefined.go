package codeactions

import (
	"regexp"
	"strings"
)

var nodeReadMsg = []*regexp.Regexp{
	regexp.MustCompile(`Cannot read propert(?:y|ies) of (?:undefined|null) \(reading '([^']+)'\)`),
	regexp.MustCompile(`Cannot read property '([^']+)' of (?:undefined|null)`),
}

// nodeUndefined makes the property reads of the object that was undefined
// (or null) optional: `o.a` becomes `o?.a` everywhere on the line. Where
// such a read is an operand of arithmetic (* / % -), `?? 0` keeps the
// result a number instead of NaN.
type nodeUndefined struct{}

func (nodeUndefined) Name() string { return "node-optional-chaining" }

func (nodeUndefined) Fix(in Input) (Change, error) {
	if !matches(in, "node", "cannot read propert") {
		return Change{}, notApplicable("not a property read of undefined")
	}
	prop := ""
	for _, re := range nodeReadMsg {
		if m := re.FindStringSubmatch(in.Incident.Message); m != nil {
			prop = m[1]
			break
		}
	}
	if prop == "" {
		return Change{}, notApplicable("the message names no property")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	re := regexp.MustCompile(`(` + jsReceiver + `)\.` + regexp.QuoteMeta(prop) + `\b`)
	recv := ""
	for _, m := range re.FindAllStringSubmatchIndex(l.text, -1) {
		if !inString(l.text, m[0]) && (m[2] == 0 || l.text[m[2]-1] != '.') {
			recv = l.text[m[2]:m[3]]
			break
		}
	}
	if recv != "" && jsIdent.MatchString(recv) && jsInLoop(in.Content, in.Line) {
		// A loop item that is undefined (an unknown code's lookup): the
		// rest of the iteration reads it too, so the item is skipped, as
		// the Go and Python rules continue a loop.
		return Change{Title: "Skip the iteration when " + recv + " is missing",
			Content: l.replace("if ("+recv+" == null) continue;", l.code)}, nil
	}
	if recv == "" {
		// An index read: `contact.emails[0]` reads '0' of emails.
		if text, recv, ok := optionalIndex(l.text, prop); ok {
			return Change{Title: "Use optional chaining on " + recv, Content: replaceRange(in.Content, l.start, l.end, text)}, nil
		}
		return Change{}, notApplicable("no .%s on line %d", prop, in.Line)
	}
	text, chains := optionalChain(l.text, recv)
	if len(chains) == 0 {
		return Change{}, notApplicable("%s is only written on line %d", recv, in.Line)
	}
	return Change{Title: "Use optional chaining on " + recv, Content: replaceRange(in.Content, l.start, l.end, text)}, nil
}

// optionalIndex rewrites the first read `recv[key]` on the line, key the
// property the message names (a number, or a quoted string), into
// `recv?.[key]`: the rest of the chain is skipped when recv is undefined.
func optionalIndex(line, prop string) (string, string, bool) {
	key := regexp.QuoteMeta(prop)
	re := regexp.MustCompile(`(` + jsReceiver + `)\[\s*(?:` + key + `|'` + key + `'|"` + key + `")\s*\]`)
	for _, m := range re.FindAllStringSubmatchIndex(line, -1) {
		if inString(line, m[0]) || m[2] > 0 && line[m[2]-1] == '.' {
			continue
		}
		after := strings.TrimSpace(line[m[1]:])
		if strings.HasPrefix(after, "=") && !strings.HasPrefix(after, "==") || strings.HasPrefix(after, "++") || strings.HasPrefix(after, "--") {
			continue // a write
		}
		recv := line[m[2]:m[3]]
		return line[:m[3]] + "?." + line[m[3]:], recv, true
	}
	return "", "", false
}

var (
	jsIdent     = regexp.MustCompile(`^[A-Za-z_$][\w$]*$`)
	jsLoopOpen  = regexp.MustCompile(`^\s*(?:for\s*(?:await\s*)?\(|while\s*\(|do\s*\{)`)
	jsFuncStart = regexp.MustCompile(`\bfunction\b|=>|^\s*(?:async\s+)?[A-Za-z_$][\w$]*\s*\([^)]*\)\s*\{\s*$`)
)

// jsInLoop reports whether line (1-based) is inside a loop body of its
// function: going up through the lines indented less than it (its
// enclosing blocks), a for/while opener comes before a function's.
func jsInLoop(src []byte, line int) bool {
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		return false
	}
	indent := len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " \t"))
	for i := line - 2; i >= 0 && indent > 0; i-- {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " \t"))
		if ind >= indent {
			continue
		}
		indent = ind
		switch {
		case jsLoopOpen.MatchString(l):
			return true
		case jsFuncStart.MatchString(l):
			return false
		}
	}
	return false
}

// jsReceiver is a member chain that may index with brackets, as in
// `this.fx[currency]` (no nested brackets).
var jsReceiver = identChain + `(?:\.[A-Za-z_$][\w$]*|\[[^\[\]]+\])*`

var jsMember = regexp.MustCompile(`^(?:\.[A-Za-z_$][\w$]*)*`)

// optionalChain rewrites every read `recv.x...` on the line into
// `recv?.x...`, returning the new line and the rewritten chains.
func optionalChain(line, recv string) (string, []string) {
	var b strings.Builder
	var chains []string
	i := 0
	for i < len(line) {
		if !wordAt(line, i, recv+".") || inString(line, i) {
			b.WriteByte(line[i])
			i++
			continue
		}
		tail := jsMember.FindString(line[i+len(recv):])
		after := strings.TrimSpace(line[i+len(recv)+len(tail):])
		if strings.HasPrefix(after, "=") && !strings.HasPrefix(after, "==") || strings.HasPrefix(after, "++") || strings.HasPrefix(after, "--") {
			b.WriteString(recv + tail) // a write: optional chaining cannot be assigned to
			i += len(recv) + len(tail)
			continue
		}
		chain := recv + "?" + tail
		before := strings.TrimSpace(b.String())
		if arithmetic(before, after) {
			chain = "(" + chain + " ?? 0)"
		}
		b.WriteString(chain)
		chains = append(chains, chain)
		i += len(recv) + len(tail)
	}
	return b.String(), chains
}

// arithmetic reports whether an operand between before and after takes
// part in * / % or binary -.
func arithmetic(before, after string) bool {
	if after != "" && strings.ContainsRune("*/%", rune(after[0])) && !strings.HasPrefix(after, "//") && !strings.HasPrefix(after, "/*") {
		return true
	}
	if strings.HasPrefix(after, "-") && !strings.HasPrefix(after, "--") && !strings.HasPrefix(after, "->") {
		return true
	}
	if before != "" && strings.ContainsRune("*/%", rune(before[len(before)-1])) {
		return true
	}
	return false
}
