package llm

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Reasons an answer is rejected. Fix wraps them with the detail (the path,
// the import, the hunk), so callers can test with errors.Is and users read
// what exactly was wrong.
var (
	ErrNoFix         = errors.New("the model found no safe fix")
	ErrNoDiff        = errors.New("answer holds no unified diff")
	ErrMalformedDiff = errors.New("malformed diff")
	ErrUnsafePath    = errors.New("diff path is absolute, escapes the repository or is unreadable")
	ErrCIFile        = errors.New("diff touches a CI or build file")
	ErrDependency    = errors.New("diff adds a dependency")
	ErrOtherFile     = errors.New("diff touches a file other than the crashing one")
	ErrFileOperation = errors.New("diff creates, deletes, renames or re-modes a file, or is binary")
	ErrDoesNotApply  = errors.New("diff does not apply to the current source")
	ErrPlaceholder   = errors.New("diff writes a redaction placeholder into the code")
)

// maxAnswer bounds the answer the parser reads; a fix is a few hunks.
const maxAnswer = 256 << 10

// fileDiff is one file section of a diff as the answer wrote it.
type fileDiff struct {
	paths []string // every path the headers name, prefixes stripped
	ops   []string // extended header lines that are not plain modifications
	hunks []hunk
}

// hunk is one @@ section. The stated positions are hints only: models get
// them wrong, so apply.go locates the hunk by its content.
type hunk struct {
	oldStart int
	lines    []hunkLine
}

type hunkLine struct {
	op   byte // ' ', '-', '+'
	text string
}

var hunkHeaderRe = regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@`)

// extendedOps are git header lines that mean more than a content change.
var extendedOps = []string{
	"new file mode", "deleted file mode", "old mode", "new mode", "rename from",
	"rename to", "copy from", "copy to", "similarity index", "dissimilarity index",
	"Binary files", "GIT binary patch",
}

// parseAnswer reads every file section of a diff in the model's answer,
// fenced in ``` blocks or bare. Prose between sections is skipped, but every
// header anywhere in the answer counts: a second block touching another file
// cannot hide behind a first harmless one.
func parseAnswer(answer string) ([]fileDiff, error) {
	if len(answer) > maxAnswer {
		return nil, fmt.Errorf("%w: answer is %d bytes, over the %d limit", ErrMalformedDiff, len(answer), maxAnswer)
	}
	if strings.TrimSpace(strings.Trim(strings.TrimSpace(answer), "`")) == "NOFIX" {
		return nil, ErrNoFix
	}
	lines := strings.Split(strings.ReplaceAll(answer, "\r\n", "\n"), "\n")
	var files []fileDiff
	var cur *fileDiff
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "```"):
			cur = nil // a fence ends whatever section was open
		case strings.HasPrefix(l, "diff --git "):
			files = append(files, fileDiff{paths: gitHeaderPaths(l)})
			cur = &files[len(files)-1]
		case strings.HasPrefix(l, "--- ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "+++ "):
			if cur == nil || len(cur.hunks) > 0 {
				files = append(files, fileDiff{})
				cur = &files[len(files)-1]
			}
			cur.paths = append(cur.paths, headerPath(l[4:], "a/"), headerPath(lines[i+1][4:], "b/"))
			i++
		case strings.HasPrefix(l, "@@"):
			if cur == nil {
				return nil, fmt.Errorf("%w: hunk %q before any file header", ErrMalformedDiff, l)
			}
			h, next, err := readHunk(lines, i)
			if err != nil {
				return nil, err
			}
			cur.hunks = append(cur.hunks, h)
			i = next - 1
		case cur != nil && isExtendedOp(l):
			cur.ops = append(cur.ops, l)
		}
	}
	if len(files) == 0 {
		return nil, ErrNoDiff
	}
	return files, nil
}

func isExtendedOp(l string) bool {
	for _, op := range extendedOps {
		if strings.HasPrefix(l, op) {
			return true
		}
	}
	return false
}

// readHunk reads the hunk whose header is lines[i] up to the first line that
// cannot belong to it. The header's line counts are not trusted.
func readHunk(lines []string, i int) (hunk, int, error) {
	m := hunkHeaderRe.FindStringSubmatch(lines[i])
	if m == nil {
		return hunk{}, 0, fmt.Errorf("%w: bad hunk header %q", ErrMalformedDiff, lines[i])
	}
	start, _ := strconv.Atoi(m[1])
	h := hunk{oldStart: start}
	j := i + 1
	for ; j < len(lines); j++ {
		l := lines[j]
		if l == "" {
			h.lines = append(h.lines, hunkLine{op: ' '}) // a model's blank context line
			continue
		}
		if strings.HasPrefix(l, `\`) {
			continue // "\ No newline at end of file": apply.go keeps the file's own ending
		}
		if strings.HasPrefix(l, "--- ") && j+1 < len(lines) && strings.HasPrefix(lines[j+1], "+++ ") {
			break
		}
		if l[0] != ' ' && l[0] != '-' && l[0] != '+' {
			break
		}
		h.lines = append(h.lines, hunkLine{op: l[0], text: l[1:]})
	}
	// Blank lines at the end are separators, not context.
	for len(h.lines) > 0 && h.lines[len(h.lines)-1] == (hunkLine{op: ' '}) {
		h.lines = h.lines[:len(h.lines)-1]
	}
	if len(h.lines) == 0 {
		return hunk{}, 0, fmt.Errorf("%w: empty hunk %q", ErrMalformedDiff, lines[i])
	}
	return h, j, nil
}

// gitHeaderPaths reads "diff --git a/X b/Y". Paths with spaces are ambiguous
// there; the ---/+++ lines that follow name them again.
func gitHeaderPaths(l string) []string {
	rest := strings.TrimPrefix(l, "diff --git ")
	if strings.HasPrefix(rest, `"`) {
		return []string{rest} // quoted: rejected by checkPath as unreadable
	}
	if i := strings.Index(rest, " b/"); i >= 0 {
		return []string{headerPath(rest[:i], "a/"), headerPath(rest[i+1:], "b/")}
	}
	return []string{rest}
}

// headerPath strips the a/ or b/ prefix and a trailing timestamp.
func headerPath(p, prefix string) string {
	if i := strings.IndexByte(p, '\t'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, " ")
	return strings.TrimPrefix(p, prefix)
}

// ciPaths are CI and build definitions a fix must never change: a change
// there runs code on the project's machines.
var ciPaths = []string{".github/", ".gitlab/", ".circleci/", ".ci/", ".buildkite/", ".woodpecker/", ".forgejo/", ".gitea/"}

var ciFiles = map[string]bool{
	".gitlab-ci.yml": true, "Jenkinsfile": true, "Makefile": true, "makefile": true, "GNUmakefile": true,
	".travis.yml": true, "azure-pipelines.yml": true, "bitbucket-pipelines.yml": true, ".drone.yml": true,
	"cloudbuild.yaml": true, "Taskfile.yml": true, ".pre-commit-config.yaml": true,
}

// depFiles declare dependencies; changing one adds or moves a dependency.
var depFiles = map[string]bool{
	"go.mod": true, "go.sum": true, "go.work": true, "go.work.sum": true,
	"package.json": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true,
	"pom.xml": true, "build.gradle": true, "build.gradle.kts": true, "settings.gradle": true,
	"settings.gradle.kts": true, "gradle.properties": true,
	"Pipfile": true, "Pipfile.lock": true, "pyproject.toml": true, "poetry.lock": true, "setup.py": true,
	"setup.cfg": true, "uv.lock": true, "Cargo.toml": true, "Cargo.lock": true, "Gemfile": true, "Gemfile.lock": true,
}

// checkPath rejects a header path that is unsafe, a CI or dependency file,
// or any file but want. The order gives the most telling reason first.
func checkPath(p, want string) error {
	if p == "/dev/null" {
		return fmt.Errorf("%w: %s", ErrFileOperation, p)
	}
	if p == "" || strings.ContainsAny(p, "\"\\\x00") || strings.IndexFunc(p, func(r rune) bool { return r < 0x20 }) >= 0 {
		return fmt.Errorf("%w: %q", ErrUnsafePath, p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") || (len(p) > 1 && p[1] == ':') {
		return fmt.Errorf("%w: %s is absolute", ErrUnsafePath, p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("%w: %s contains ..", ErrUnsafePath, p)
		}
	}
	clean := path.Clean(p)
	for _, dir := range ciPaths {
		if strings.HasPrefix(clean+"/", dir) || strings.Contains("/"+clean, "/"+dir) {
			return fmt.Errorf("%w: %s", ErrCIFile, p)
		}
	}
	base := path.Base(clean)
	if ciFiles[base] {
		return fmt.Errorf("%w: %s", ErrCIFile, p)
	}
	if depFiles[base] || (strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt")) {
		return fmt.Errorf("%w: %s changes a dependency manifest", ErrDependency, p)
	}
	if clean != path.Clean(want) {
		return fmt.Errorf("%w: %s (only %s may change)", ErrOtherFile, p, want)
	}
	return nil
}

// selectHunks checks every file section and returns the hunks for want.
func selectHunks(files []fileDiff, want string) ([]hunk, error) {
	var hunks []hunk
	for _, f := range files {
		for _, p := range f.paths {
			if err := checkPath(p, want); err != nil {
				return nil, err
			}
		}
		if len(f.paths) == 0 {
			return nil, fmt.Errorf("%w: a file section names no path", ErrMalformedDiff)
		}
		if len(f.ops) > 0 {
			return nil, fmt.Errorf("%w: %q", ErrFileOperation, f.ops[0])
		}
		hunks = append(hunks, f.hunks...)
	}
	if len(hunks) == 0 {
		return nil, fmt.Errorf("%w: no hunks for %s", ErrNoDiff, want)
	}
	return hunks, nil
}
