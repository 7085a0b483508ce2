package analysis

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
)

// declRe matches the first line of a function or method per language. It is
// a heuristic: good enough to find the extent of the function around a
// crashing line, which is all the suspect scoring needs.
var declRe = map[string]*regexp.Regexp{
	"go":     regexp.MustCompile(`^func\b`),
	"python": regexp.MustCompile(`^\s*(async\s+)?def\s+\w+`),
	"node":   regexp.MustCompile(`^\s*(export\s+)?(default\s+)?(async\s+)?(function\b|\w+\s*[=:]\s*(async\s+)?(function\b|\([^)]*\)\s*=>|\w+\s*=>)|(static\s+)?(async\s+)?((get|set)\s+)?\w+\s*\([^)]*\)\s*\{)`),
	"java":   regexp.MustCompile(`^\s*(public|private|protected|static|final|synchronized|abstract|\s)*[\w<>\[\], ?]+\s+\w+\s*\([^;]*$`),
}

// notDeclRe matches control statements the loose declaration patterns
// would take for a method ("if (x) {", "} else if (y) {", "for (...) {",
// a multi-line "return call(").
var notDeclRe = regexp.MustCompile(`^\s*(\}\s*)?(if|else|for|while|switch|catch|with|return|new|throw|do|try)\b`)

// funcExtent returns the 1-based first and last line of the function that
// holds line, or ok=false when no declaration is found above it. The end is
// the line before the next declaration at the same or a lower indentation
// (for Python, before the next statement at the def's indentation or
// lower), blank lines before it not included: a commit that adds a
// function below has not changed this one.
func funcExtent(lang string, lines []string, line int) (start, end int, decl string, ok bool) {
	re := declRe[lang]
	if re == nil || line < 1 || line > len(lines) {
		return 0, 0, "", false
	}
	start = -1
	for i := line - 1; i >= 0; i-- {
		if re.MatchString(lines[i]) && !notDeclRe.MatchString(lines[i]) {
			start = i
			break
		}
	}
	if start < 0 {
		return 0, 0, "", false
	}
	indent := leadingSpace(lines[start])
	end = len(lines) - 1
	for i := line; i < len(lines); i++ {
		l := lines[i]
		if lang == "go" && strings.HasPrefix(l, "}") {
			end = i
			break
		}
		if (lang == "node" || lang == "java") && strings.TrimSpace(l) != "" && leadingSpace(l) <= indent {
			// The method's closing brace, or past it (the class's).
			if leadingSpace(l) == indent && strings.HasPrefix(strings.TrimSpace(l), "}") {
				end = i
				break
			}
			if leadingSpace(l) < indent {
				end = i - 1
				break
			}
		}
		if strings.TrimSpace(l) != "" && leadingSpace(l) <= indent && (lang == "python" || re.MatchString(l) && !notDeclRe.MatchString(l)) {
			end = i - 1
			break
		}
	}
	for end > line-1 && strings.TrimSpace(lines[end]) == "" {
		end--
	}
	return start + 1, end + 1, strings.TrimSpace(lines[start]), true
}

func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// touchedLines returns the 1-based lines of new that a change from old to
// new added or modified, plus the line after each deletion: where a removed
// statement (a dropped lock, a deleted nil check) used to be.
func touchedLines(lineMap []int, newLen int) map[int]bool {
	mappedTo := make([]bool, newLen+2)
	for i, n := range lineMap {
		if i > 0 && n > 0 && n <= newLen {
			mappedTo[n] = true
		}
	}
	touched := map[int]bool{}
	for n := 1; n <= newLen; n++ {
		if !mappedTo[n] {
			touched[n] = true
		}
	}
	prev := 0
	for i, n := range lineMap {
		if i == 0 { // LineMap is 1-based: index 0 is unused
			continue
		}
		if n == 0 {
			touched[prev+1] = true
			continue
		}
		prev = n
	}
	return touched
}

// goClosurePath returns the name the Go compiler gives the function
// literal that holds line, relative to its top-level function: "func2"
// for the second closure of the function, "func2.1" for the first closure
// inside that one; "" when the line is in no closure (or the file does not
// parse). Closures are numbered in source order per enclosing function.
func goClosurePath(src []byte, line int) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if err != nil || f == nil {
		return ""
	}
	holds := func(n ast.Node) bool {
		return fset.Position(n.Pos()).Line <= line && line <= fset.Position(n.End()).Line
	}
	var walk func(body ast.Node, prefix string) string
	walk = func(body ast.Node, prefix string) string {
		count, found := 0, ""
		ast.Inspect(body, func(n ast.Node) bool {
			if found != "" {
				return false
			}
			fl, ok := n.(*ast.FuncLit)
			if !ok {
				return true
			}
			count++
			// The literal's own statements: the line that opens it
			// belongs to the enclosing function, unless it is all on one.
			open, closing := fset.Position(fl.Body.Lbrace).Line, fset.Position(fl.Body.Rbrace).Line
			if open < line && line <= closing || open == line && closing == line {
				name := prefix + strconv.Itoa(count)
				found = name
				if inner := walk(fl.Body, name+"."); inner != "" {
					found = inner
				}
			}
			return false // literals inside are numbered under this one
		})
		return found
	}
	for _, d := range f.Decls {
		var body ast.Node
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Body == nil || !holds(d) {
				continue
			}
			body = d.Body
		default:
			continue
		}
		return walk(body, "func")
	}
	return ""
}

// renumberedClosure renames a Go frame of a closure after the number the
// closure has at HEAD: a closure added above it in the same function
// shifts it ("Close.func1" at the deployed commit is "Close.func2" now).
// was and now are goClosurePath's answers at the deployed commit and at
// HEAD; the frame must end in was.
func renumberedClosure(function, was, now string) string {
	if was == "" || now == "" || was == now || !strings.HasSuffix(function, "."+was) {
		return function
	}
	return strings.TrimSuffix(function, was) + now
}

// classDeclRe matches a Java or JavaScript class declaration and captures
// its name.
var classDeclRe = regexp.MustCompile(`^\s*(?:export\s+)?(?:default\s+)?(?:(?:public|private|protected|static|final|abstract|sealed|non-sealed)\s+)*(?:class|record|enum|interface)\s+([A-Za-z_$][\w$]*)`)

// enclosingClass returns the name of the innermost class declared around
// the 1-based line (the nearest declaration above it at a lower
// indentation), or "".
func enclosingClass(lines []string, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	indent := leadingSpace(lines[line-1])
	for i := line - 2; i >= 0; i-- {
		l := lines[i]
		if strings.TrimSpace(l) == "" || leadingSpace(l) >= indent {
			continue
		}
		if m := classDeclRe.FindStringSubmatch(l); m != nil {
			return m[1]
		}
		indent = leadingSpace(l)
	}
	return ""
}

// renamedClass replaces the class a Java or Node frame names
// ("com.acme.Quote$Tag.format", "Tag.format", "new Tag") when the class
// around the line was renamed since the deployed commit.
func renamedClass(lang, function, was, now string) string {
	if was == "" || now == "" || was == now || (lang != "java" && lang != "node") {
		return function
	}
	for i := strings.LastIndex(function, was); i >= 0; i = strings.LastIndex(function[:i], was) {
		end := i + len(was)
		before, after := byte(0), byte(0)
		if i > 0 {
			before = function[i-1]
		}
		if end < len(function) {
			after = function[end]
		}
		var ok bool
		if lang == "java" {
			ok = (before == 0 || before == '.' || before == '$') && (after == '.' || after == '$')
		} else {
			ok = (before == 0 || before == ' ') && (after == '.' || after == 0 || after == ' ')
		}
		if ok {
			return function[:i] + now + function[end:]
		}
	}
	return function
}
