// Package codeactions proposes fixes for production incidents: rule-based
// fixers (one file per crash class), unified diffs that `git apply` accepts,
// and validation (the fixed file still builds) before a fix is offered.
//
// Rule fixers are pure: they read an Input (the incident and the current
// content of its location file) and return the whole new content of that one
// file. They never read or write any other file; the Service reads the file,
// checks that it lies inside the workspace, validates the change and renders
// the diff.
package codeactions

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Input is what a rule fixer reads.
type Input struct {
	Incident incident.Incident
	// Path is the repo-relative path of the file (Incident.Location.File).
	Path string
	// Line is the 1-based crashing line in Content.
	Line int
	// Content is the current text of the file: the editor buffer or the file
	// in the working tree.
	Content []byte
	// Dir holds the file's directory, so that Go rules can type-check the
	// package the file belongs to. It may be nil; rules then fall back to
	// what the file alone says.
	Dir fs.FS
	// GoVersion is the `go` line of the module holding the file ("1.22"),
	// empty when unknown. Rules that need newer language features check it.
	GoVersion string
}

// Change is a fix produced by a rule: the new content of Input.Path.
type Change struct {
	Rule    string // the fixer's Name
	Title   string // shown in the editor's quick-fix menu
	Content []byte
}

// Fixer is one rule family. Fix returns ErrNotApplicable (wrapped with the
// reason) when the incident is not its crash class or the crashing
// statement has a shape the rule does not handle.
type Fixer interface {
	Name() string
	Fix(in Input) (Change, error)
}

// ErrNotApplicable says a rule has no fix for the input. It is the normal
// outcome for most rules on most incidents.
var ErrNotApplicable = errors.New("rule does not apply")

func notApplicable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotApplicable, fmt.Sprintf(format, args...))
}

// Fixers lists every rule, in the order they are tried: the narrowest,
// cheapest checks first. Adding a rule is one file plus its entry here.
var Fixers = []Fixer{
	goDivZero{},
	goNilMap{},
	goSliceBounds{},
	goIndex{},
	goTypeAssert{},
	goNilPointer{},
	goSelfFormat{},
	pyZeroDiv{},
	pyKeyError{},
	pyNoneAttr{},
	pyPropertyRecursion{},
	nodeUndefined{},
	javaIndex{},
	javaNPE{},
}

// Propose runs every fixer on in and returns the changes that apply, in
// Fixers order. Incidents not marked fixable by code get none.
func Propose(fixers []Fixer, in Input) []Change {
	rc := in.Incident.RootCause
	if rc == nil || !rc.Fixable || in.Line <= 0 {
		return nil
	}
	var out []Change
	for _, f := range fixers {
		ch, err := f.Fix(in)
		if err != nil || string(ch.Content) == string(in.Content) {
			continue
		}
		ch.Rule = f.Name()
		ch.Content = keepCRLF(in.Content, ch.Content)
		out = append(out, ch)
	}
	return out
}

// keepCRLF gives the lines a rule wrote the line endings of the file they
// go into: in a file whose every line ends in CRLF (written on Windows, or
// checked out with autocrlf), a bare "\n" becomes "\r\n", so that the fix
// does not leave mixed endings that the next diff shows as changed lines.
func keepCRLF(orig, changed []byte) []byte {
	n := bytes.Count(orig, []byte("\n"))
	if n == 0 || bytes.Count(orig, []byte("\r\n")) != n {
		return changed
	}
	bare := bytes.Count(changed, []byte("\n")) - bytes.Count(changed, []byte("\r\n"))
	if bare == 0 {
		return changed
	}
	out := make([]byte, 0, len(changed)+bare)
	for i, c := range changed {
		if c == '\n' && (i == 0 || changed[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// errorText is the incident's error class and message, lower-cased, for
// the rules' cheap matching.
func errorText(inc incident.Incident) string {
	return strings.ToLower(inc.ErrorType + "\n" + inc.Message)
}

// matches reports whether the incident is of language lang and its error
// text contains one of the needles (lower case).
func matches(in Input, lang string, needles ...string) bool {
	if in.Incident.Language != "" && in.Incident.Language != lang {
		return false
	}
	text := errorText(in.Incident)
	for _, n := range needles {
		if strings.Contains(text, n) {
			return true
		}
	}
	return false
}

// lineBounds returns the byte offsets of the 1-based line (without its
// newline) in src, or ok=false when the line does not exist.
func lineBounds(src []byte, line int) (start, end int, ok bool) {
	if line < 1 {
		return 0, 0, false
	}
	start = 0
	for i := 1; i < line; i++ {
		j := strings.IndexByte(string(src[start:]), '\n')
		if j < 0 {
			return 0, 0, false
		}
		start += j + 1
	}
	if start > len(src) || (start == len(src) && line > 1) {
		return 0, 0, false
	}
	end = start
	for end < len(src) && src[end] != '\n' {
		end++
	}
	return start, end, true
}

// replaceRange returns src with src[start:end] replaced by text.
func replaceRange(src []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(src)+len(text))
	out = append(out, src[:start]...)
	out = append(out, text...)
	return append(out, src[end:]...)
}
