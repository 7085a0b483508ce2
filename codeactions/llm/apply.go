package llm

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// srcLines is a file split into lines, remembering whether it ended with a
// newline so the patched file keeps the same ending.
type srcLines struct {
	lines []string
	eol   bool
}

func splitLines(b []byte) srcLines {
	s := string(b)
	if s == "" {
		return srcLines{eol: true}
	}
	eol := strings.HasSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\n")
	return srcLines{lines: strings.Split(s, "\n"), eol: eol}
}

func (s srcLines) join(lines []string) []byte {
	out := strings.Join(lines, "\n")
	if s.eol && len(lines) > 0 {
		out += "\n"
	}
	return []byte(out)
}

// placed is a hunk located in the source: at is the 0-based index of its
// first old line; old side lines carry the source's own text.
type placed struct {
	at    int
	lines []hunkLine
}

// applyHunks locates each hunk by its content (nearest to where its header
// says, after the previous hunk) and returns the patched source and the
// hunks rewritten with true positions and the source's exact text.
func applyHunks(src []byte, hunks []hunk) ([]byte, []placed, error) {
	s := splitLines(src)
	shown := make([]string, len(s.lines)) // each line as the prompt showed it
	for i, l := range s.lines {
		shown[i] = promptLine(l)
	}
	var out []string
	var ps []placed
	next := 0
	for n, h := range hunks {
		if err := checkAdded(h); err != nil {
			return nil, nil, err
		}
		at, err := locate(s.lines, shown, h, next)
		if err != nil {
			return nil, nil, fmt.Errorf("hunk %d (@@ -%d): %w", n+1, h.oldStart, err)
		}
		out = append(out, s.lines[next:at]...)
		p := placed{at: at}
		k := at
		for _, l := range h.lines {
			switch l.op {
			case '+':
				out = append(out, l.text)
				p.lines = append(p.lines, l)
			default:
				if l.op == ' ' {
					out = append(out, s.lines[k])
				}
				p.lines = append(p.lines, hunkLine{op: l.op, text: s.lines[k]})
				k++
			}
		}
		ps = append(ps, p)
		next = k
	}
	out = append(out, s.lines[next:]...)
	return s.join(out), ps, nil
}

// checkAdded refuses new lines that carry a redaction placeholder or a
// neutralised fence tag: the model would be writing our markers into code.
func checkAdded(h hunk) error {
	for _, l := range h.lines {
		if l.op == '+' && (strings.Contains(l.text, "[REDACTED-") || strings.Contains(l.text, "[fence-tag]")) {
			return fmt.Errorf("%w: %q", ErrPlaceholder, l.text)
		}
	}
	return nil
}

// locate finds where the hunk's old side (context and deleted lines) sits in
// the source at or after from. Lines match exactly, as the prompt showed
// them (redacted), or up to trailing spaces; failing that, up to indentation.
// Of several matches the one nearest the header's line wins, as git apply does.
func locate(lines, shown []string, h hunk, from int) (int, error) {
	var old []string
	for _, l := range h.lines {
		if l.op != '+' {
			old = append(old, l.text)
		}
	}
	if len(old) == 0 {
		return 0, fmt.Errorf("%w: hunk has no context lines to anchor it", ErrDoesNotApply)
	}
	want := h.oldStart - 1
	for _, eq := range []func(a, b, shown string) bool{lineEqual, lineEqualIndent} {
		best := -1
		for at := from; at+len(old) <= len(lines); at++ {
			if !matchAt(lines, shown, old, at, eq) {
				continue
			}
			if best < 0 || abs(at-want) < abs(best-want) {
				best = at
			}
		}
		if best >= 0 {
			return best, nil
		}
	}
	return 0, fmt.Errorf("%w: context %q not found", ErrDoesNotApply, firstNonBlank(old))
}

func matchAt(lines, shown, old []string, at int, eq func(a, b, shown string) bool) bool {
	for i, o := range old {
		if !eq(o, lines[at+i], shown[at+i]) {
			return false
		}
	}
	return true
}

func lineEqual(a, b, shown string) bool {
	a = strings.TrimRight(a, " \t")
	return a == strings.TrimRight(b, " \t") || a == strings.TrimRight(shown, " \t")
}

func lineEqualIndent(a, b, shown string) bool {
	a = strings.TrimSpace(a)
	return a == strings.TrimSpace(b) || a == strings.TrimSpace(shown)
}

func firstNonBlank(ls []string) string {
	for _, l := range ls {
		if strings.TrimSpace(l) != "" {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// contextLines is how many unchanged lines surround each change in the
// rendered diff, as git writes them. git apply anchors a hunk that lacks
// trailing context to the end of the file, so a model's lopsided hunk is
// never passed on as written.
const contextLines = 3

// edit is one run of deleted and added lines at old line index at.
type edit struct {
	at       int
	del, add []string
}

// edits flattens located hunks into runs of changes.
func edits(ps []placed) []edit {
	var out []edit
	for _, p := range ps {
		k := p.at
		var cur *edit
		for _, l := range p.lines {
			if l.op == ' ' {
				cur = nil
				k++
				continue
			}
			if cur == nil {
				out = append(out, edit{at: k})
				cur = &out[len(out)-1]
			}
			if l.op == '-' {
				cur.del = append(cur.del, l.text)
				k++
			} else {
				cur.add = append(cur.add, l.text)
			}
		}
	}
	return out
}

// render writes the changes as a git-style diff of file with true line
// numbers, three lines of context and merged neighbouring hunks: the form
// `git apply` accepts at the repository root.
func render(file string, src []byte, ps []placed) string {
	s := splitLines(src)
	es := edits(ps)
	r := renderer{s: s, newLen: len(s.lines)}
	for _, e := range es {
		r.newLen += len(e.add) - len(e.del)
	}
	f := &gitdiff.File{OldName: file, NewName: file}
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].at-(es[j-1].at+len(es[j-1].del)) <= 2*contextLines {
			j++
		}
		f.TextFragments = append(f.TextFragments, r.fragment(es[i:j]))
		i = j
	}
	return f.String()
}

// renderer tracks the line of the new file that corresponds to the old
// file's line, to mark the last line when the file has no final newline.
type renderer struct {
	s      srcLines
	newLen int
	delta  int // new minus old lines before the current fragment
}

func (r *renderer) fragment(es []edit) *gitdiff.TextFragment {
	n := len(r.s.lines)
	start := max(0, es[0].at-contextLines)
	last := es[len(es)-1]
	end := min(n, last.at+len(last.del)+contextLines)
	frag := &gitdiff.TextFragment{OldPosition: int64(start + 1), NewPosition: int64(start + 1 + r.delta)}
	newIdx := start + r.delta
	old := start
	emit := func(op gitdiff.LineOp, text string, lastLine bool) {
		line := gitdiff.Line{Op: op, Line: text + "\n"}
		if lastLine && !r.s.eol {
			line.Line = text
		}
		frag.Lines = append(frag.Lines, line)
	}
	context := func(upto int) {
		for ; old < upto; old++ {
			emit(gitdiff.OpContext, r.s.lines[old], old == n-1)
			frag.OldLines++
			frag.NewLines++
			newIdx++
		}
	}
	for _, e := range es {
		context(e.at)
		for _, d := range e.del {
			emit(gitdiff.OpDelete, d, old == n-1)
			frag.OldLines++
			frag.LinesDeleted++
			old++
		}
		for _, a := range e.add {
			emit(gitdiff.OpAdd, a, newIdx == r.newLen-1)
			frag.NewLines++
			frag.LinesAdded++
			newIdx++
		}
	}
	context(end)
	r.delta += int(frag.NewLines - frag.OldLines)
	fixEmptySides(frag)
	return frag
}

// fixEmptySides follows the diff convention that an empty side's position is
// the line before the hunk.
func fixEmptySides(frag *gitdiff.TextFragment) {
	if frag.OldLines == 0 {
		frag.OldPosition--
	}
	if frag.NewLines == 0 {
		frag.NewPosition--
	}
}

// verifyRendered re-reads the rendered diff with an independent parser and
// applier and checks it produces want from src: the diff handed to the
// editor and to `git apply` is the one that was checked.
func verifyRendered(diff string, src, want []byte) error {
	files, _, err := gitdiff.Parse(strings.NewReader(diff))
	if err != nil {
		return fmt.Errorf("re-read rendered diff: %w", err)
	}
	if len(files) != 1 {
		return fmt.Errorf("rendered diff has %d files, want 1", len(files))
	}
	var got bytes.Buffer
	if err := gitdiff.Apply(&got, bytes.NewReader(src), files[0]); err != nil {
		return fmt.Errorf("%w: %v", ErrDoesNotApply, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		return fmt.Errorf("%w: rendered diff does not reproduce the patched file", ErrDoesNotApply)
	}
	return nil
}
