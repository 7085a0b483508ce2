package analysis

import (
	"regexp"
	"strings"
)

// declRe matches the first line of a function or method per language. It is
// a heuristic: good enough to find the extent of the function around a
// crashing line, which is all the suspect scoring needs.
var declRe = map[string]*regexp.Regexp{
	"go":     regexp.MustCompile(`^func\b`),
	"python": regexp.MustCompile(`^\s*(async\s+)?def\s+\w+`),
	"node":   regexp.MustCompile(`^\s*(export\s+)?(default\s+)?(async\s+)?(function\b|\w+\s*[=:]\s*(async\s+)?(function\b|\([^)]*\)\s*=>|\w+\s*=>)|(static\s+)?(async\s+)?\w+\s*\([^)]*\)\s*\{)`),
	"java":   regexp.MustCompile(`^\s*(public|private|protected|static|final|synchronized|abstract|\s)*[\w<>\[\], ?]+\s+\w+\s*\([^;]*$`),
}

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
		if re.MatchString(lines[i]) {
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
		if strings.TrimSpace(l) != "" && leadingSpace(l) <= indent && (lang == "python" || re.MatchString(l)) {
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
