package codeactions

import (
	"regexp"
	"strings"
)

var (
	javaDecl      = regexp.MustCompile(`^((?:(?:private|protected|public|static|final|transient|volatile)\s+)*([\w.]+(?:<[\w.<>?, ]*>)?(?:\[\])*)\s+(\w+)\s*=\s*)(.+);$`)
	javaReturn    = regexp.MustCompile(`^return\s+(.+);$`)
	javaMethod    = regexp.MustCompile(`^\s*(?:(?:public|protected|private|static|final|synchronized|abstract)\s+)*(?:<[^>]+>\s+)?([\w.]+(?:<[\w.<>?, ]*>)?(?:\[\])*)\s+\w+\s*\([^)]*\)\s*(?:throws\s+[\w.,\s]+)?\{?\s*$`)
	javaNullValue = regexp.MustCompile(`because the return value of "(?:[\w$]+\.)*([\w$]+)\([^"]*\)" is null`)
	javaNullName  = regexp.MustCompile(`because "([\w.$]+)" is null`)
	javaIndexMsg  = regexp.MustCompile(`Index (-?\d+) out of bounds for length (\d+)`)
	// javaStreamStep is a chained stream step on its own line whose
	// argument is a lambda: ".forEach(kv -> ...", ".map((e) -> ...".
	javaStreamStep = regexp.MustCompile(`^\.(?:map|mapToInt|mapToLong|mapToDouble|mapToObj|flatMap|forEach|forEachOrdered|peek|filter|anyMatch|allMatch|noneMatch|takeWhile|dropWhile)\(\s*(?:\(\s*([A-Za-z_$][\w$]*)\s*\)|([A-Za-z_$][\w$]*))\s*->`)
	// javaAssign is an assignment to a field or variable declared
	// elsewhere: "this.desk = ...;", "total = ...;".
	javaAssign = regexp.MustCompile(`^((?:this\.)?([A-Za-z_$][\w$]*)\s*=\s*)([^=].*);$`)
)

// javaFinalType returns the declared type of a final field or variable
// named name in src ("private final String desk;"), or "".
func javaFinalType(src []byte, name string) string {
	re := regexp.MustCompile(`(?m)^\s*((?:(?:private|protected|public|static|final|volatile|transient)\s+)*)([\w.]+(?:<[\w.<>?, ]*>)?(?:\[\])*)\s+` + regexp.QuoteMeta(name) + `\s*[;=]`)
	for _, m := range re.FindAllSubmatch(src, -1) {
		if regexp.MustCompile(`\bfinal\b`).Match(m[1]) {
			return string(m[2])
		}
	}
	return ""
}

// javaDefault is the fallback value of a Java type: 0 and false for
// primitives, "" for String (a missing text reads as empty, as most callers
// format or concatenate it), null otherwise.
func javaDefault(typ string) string {
	switch typ {
	case "int", "long", "short", "byte", "char", "double", "float":
		return "0"
	case "boolean":
		return "false"
	case "String", "java.lang.String":
		return `""`
	}
	return "null"
}

// javaGuarded rewrites the crashing statement so that it does not run when
// ok is false: a declaration or return takes the type's default through a
// conditional expression, any other statement is wrapped in `if (ok)`.
func javaGuarded(in Input, l *textLine, ok string) ([]byte, error) {
	// A stream step whose lambda fails on its element: filter the
	// elements out one step before (".filter(kv -> kv.length > 1)"), which
	// keeps the chain whatever the step returns.
	if m := javaStreamStep.FindStringSubmatch(l.code); m != nil {
		param := m[1] + m[2]
		if strings.HasPrefix(ok, param+".") || strings.HasPrefix(ok, param+" ") {
			return replaceRange(l.src, l.start, l.start, l.indent+".filter("+param+" -> "+ok+")\n"), nil
		}
	}
	// An assignment to a final field (in a constructor) must assign on
	// every path: it takes the type's default through a conditional.
	if m := javaAssign.FindStringSubmatch(l.code); m != nil {
		if typ := javaFinalType(in.Content, m[2]); typ != "" {
			return l.replace(m[1] + ok + " ? " + m[3] + " : " + javaDefault(typ) + ";"), nil
		}
	}
	if m := javaDecl.FindStringSubmatch(l.code); m != nil && !strings.HasPrefix(l.code, "return ") {
		return l.replace(m[1] + ok + " ? " + m[4] + " : " + javaDefault(m[2]) + ";"), nil
	}
	if m := javaReturn.FindStringSubmatch(l.code); m != nil {
		typ := ""
		for _, prev := range linesBefore(in.Content, in.Line) {
			if mm := javaMethod.FindStringSubmatch(prev); mm != nil {
				typ = mm[1]
				break
			}
		}
		if typ == "" || typ == "void" {
			return nil, notApplicable("the method's return type is unknown")
		}
		return l.replace("return " + ok + " ? " + m[1] + " : " + javaDefault(typ) + ";"), nil
	}
	if !strings.HasSuffix(l.code, ";") || strings.HasPrefix(l.code, "}") {
		return nil, notApplicable("line %d is not a whole statement", in.Line)
	}
	unit := indentUnit(in.Content)
	return l.replace("if ("+ok+") {", unit+l.code, "}"), nil
}

// javaNPE guards the expression a helpful NullPointerException message
// names ("because "u" is null", "because the return value of
// "User.getEmail()" is null").
type javaNPE struct{}

func (javaNPE) Name() string { return "java-null-check" }

func (javaNPE) Fix(in Input) (Change, error) {
	if !matches(in, "java", "nullpointerexception") {
		return Change{}, notApplicable("not a NullPointerException")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	expr := ""
	if m := javaNullValue.FindStringSubmatch(in.Incident.Message); m != nil {
		re := regexp.MustCompile(`(?:[\w$]+\.)*` + regexp.QuoteMeta(m[1]) + `\([^()]*\)`)
		expr = re.FindString(l.text)
	} else if m := javaNullName.FindStringSubmatch(in.Incident.Message); m != nil && !strings.HasPrefix(m[1], "<") {
		for _, cand := range []string{m[1], strings.TrimPrefix(m[1], "this.")} {
			if i := strings.Index(l.text, cand); i >= 0 && wordAt(l.text, i, cand) {
				expr = cand
				break
			}
		}
	}
	if expr == "" {
		return Change{}, notApplicable("the message names no null expression on line %d", in.Line)
	}
	out, err := javaGuarded(in, l, expr+" != null")
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Check " + expr + " for null", Content: out}, nil
}

// javaIndex bounds-checks the array access an
// ArrayIndexOutOfBoundsException names ("Index 2 out of bounds for length 2").
type javaIndex struct{}

func (javaIndex) Name() string { return "java-array-bounds" }

func (javaIndex) Fix(in Input) (Change, error) {
	if !matches(in, "java", "arrayindexoutofbounds") {
		return Change{}, notApplicable("not an ArrayIndexOutOfBoundsException")
	}
	l, err := lineOf(in)
	if err != nil {
		return Change{}, err
	}
	value := ""
	if m := javaIndexMsg.FindStringSubmatch(in.Incident.Message); m != nil {
		value = m[1]
	}
	re := regexp.MustCompile(`(` + identChain + `)\[([^\[\]]+)\]`)
	var arr, idx string
	for _, m := range re.FindAllStringSubmatch(l.text, -1) {
		i := strings.TrimSpace(m[2])
		if numberLit.MatchString(i) && value != "" && i != value {
			continue
		}
		arr, idx = m[1], i
		if i == value {
			break
		}
	}
	if arr == "" {
		return Change{}, notApplicable("no array access on line %d", in.Line)
	}
	ok := arr + ".length > " + idx
	if strings.HasPrefix(value, "-") {
		ok = idx + " >= 0 && " + ok
	}
	out, err := javaGuarded(in, l, ok)
	if err != nil {
		return Change{}, err
	}
	return Change{Title: "Check the bounds of " + arr + "[" + idx + "]", Content: out}, nil
}
