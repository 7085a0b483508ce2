package gitrepo

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Line statuses reported by Carry and CarryLine.
const (
	StatusUnchanged = "unchanged" // same line number
	StatusMoved     = "moved"     // the statement is still there, at another line
	StatusDeleted   = "deleted"   // the statement is gone; the line given is the nearest one
	StatusMissing   = "missing"   // the file is gone, or the line was outside the old file
)

// SimilarityThreshold is how alike (0..1) an edited line must be to a line of
// the hunk that replaced it to count as the same statement. Similarity is
// 1 - levenshtein/maxlen over the line with all white space removed, so
// `x := a[i]` -> `x := a[i+1]` scores 0.78 and `return nil` -> `return err`
// 0.67, while unrelated statements of similar length score well below 0.5.
const SimilarityThreshold = 0.6

// minFuzzyLen is the shortest line (white space removed) that may be matched
// by similarity; shorter ones (`}`, `i++`) must match exactly, since any two of
// them look alike.
const minFuzzyLen = 4

// minFarMoveLen is the shortest line that may be matched outside its own hunk
// (a block moved elsewhere in the file): long enough to be a distinctive
// statement rather than boilerplate.
const minFarMoveLen = 10

// hunk is one changed region: old[oldStart:oldEnd] became new[newStart:newEnd]
// (0-based, half-open). Pure insertions have oldStart == oldEnd.
type hunk struct{ oldStart, oldEnd, newStart, newEnd int }

// Drift maps the lines of an old version of a file onto a new one. It is
// immutable once built, so one Drift can serve many carries of the same file
// (a stack trace usually has many frames in few files) from many goroutines.
type Drift struct {
	old, new []string
	m        []int // m[oldLine] = newLine (1-based) or 0; m[0] unused
	hunks    []hunk
	// farMoves maps a line key to the new lines (0-based) outside the matched
	// text that carry it, for blocks moved far away.
	farMoves map[string][]int
	farOnce  sync.Once
}

// LineMap returns, for each 1-based old line, its 1-based line in new, or 0
// when the line was deleted or changed. The result has len(old)+1 entries so
// that it can be indexed by line number; entry 0 is unused.
func LineMap(old, new []string) []int { return NewDrift(old, new).m }

// CarryLines carries 1-based line of old to new. Unlike LineMap it also
// follows a line that the diff reports as changed: see Drift.Carry. (It is
// not named Carry because that is the type CarryLine returns.)
func CarryLines(old, new []string, line int) (newLine int, status string) {
	return NewDrift(old, new).Carry(line)
}

// NewDrift diffs old against new (Myers, line by line, via go-diff) and
// prepares the hunks for carrying lines.
func NewDrift(old, new []string) *Drift {
	d := &Drift{old: old, new: new, m: make([]int, len(old)+1)}
	oi, ni := 0, 0
	var cur *hunk
	flush := func() {
		if cur != nil {
			d.hunks = append(d.hunks, *cur)
			cur = nil
		}
	}
	for _, op := range diffLines(old, new) {
		if op.kind == diffmatchpatch.DiffEqual {
			flush()
			for k := 0; k < op.n; k++ {
				d.m[oi+k+1] = ni + k + 1
			}
			oi, ni = oi+op.n, ni+op.n
			continue
		}
		if cur == nil {
			cur = &hunk{oldStart: oi, oldEnd: oi, newStart: ni, newEnd: ni}
		}
		if op.kind == diffmatchpatch.DiffDelete {
			oi += op.n
			cur.oldEnd = oi
		} else {
			ni += op.n
			cur.newEnd = ni
		}
	}
	flush()
	return d
}

// Map returns the line map as LineMap does. Callers must not modify it.
func (d *Drift) Map() []int { return d.m }

// Carry carries 1-based line of the old file to the new one.
//
// A line the diff kept is found directly. A line inside a changed hunk is
// looked for among the hunk's new lines: first by its text (white space
// ignored), so that an edit to its neighbours does not lose it; then by
// similarity (SimilarityThreshold), so that a slightly edited statement is
// still found; then, for a distinctive line, anywhere the diff inserted it
// (a moved block); then as a statement a formatter re-wrapped over more or
// fewer lines (see rewrapped). Failing all that the statement is deleted,
// and newLine is the line now standing where it was.
func (d *Drift) Carry(line int) (newLine int, status string) {
	if line < 1 || line > len(d.old) {
		return 0, StatusMissing
	}
	if n := d.m[line]; n != 0 {
		return n, movedOrNot(line, n)
	}
	h := d.hunkOf(line - 1)
	if j, ok := d.matchInHunk(h, line-1); ok {
		return j + 1, movedOrNot(line, j+1)
	}
	if j, ok := d.farMove(line - 1); ok {
		return j + 1, movedOrNot(line, j+1)
	}
	if j, ok := d.rewrapped(h, line-1); ok {
		return j + 1, movedOrNot(line, j+1)
	}
	return d.nearest(h, line-1), StatusDeleted
}

func movedOrNot(oldLine, newLine int) string {
	if oldLine == newLine {
		return StatusUnchanged
	}
	return StatusMoved
}

// hunkOf returns the hunk holding old line i (0-based); i must be unmapped,
// so such a hunk exists.
func (d *Drift) hunkOf(i int) hunk {
	k := sort.Search(len(d.hunks), func(k int) bool { return d.hunks[k].oldEnd > i })
	return d.hunks[k]
}

// matchInHunk finds old line i among the new lines of h: an exact match (white
// space ignored) wins, else the most similar line above the threshold. Ties go
// to the candidate nearest i's relative place in the hunk.
func (d *Drift) matchInHunk(h hunk, i int) (int, bool) {
	key := lineKey(d.old[i])
	if key == "" {
		return 0, false
	}
	want := h.newStart + (i - h.oldStart)
	best, bestScore, bestDist := -1, 0.0, 0
	for j := h.newStart; j < h.newEnd; j++ {
		var score float64
		other := lineKey(d.new[j])
		switch {
		case other == key:
			score = 2 // exact beats any similarity
		case len(key) < minFuzzyLen:
			continue
		default:
			score = similarity(key, other)
			if score < SimilarityThreshold {
				continue
			}
		}
		dist := abs(j - want)
		if best < 0 || score > bestScore || (score == bestScore && dist < bestDist) {
			best, bestScore, bestDist = j, score, dist
		}
	}
	return best, best >= 0
}

// farMove finds old line i among the lines inserted anywhere in the new file,
// when its text is distinctive and occurs exactly once there.
func (d *Drift) farMove(i int) (int, bool) {
	key := lineKey(d.old[i])
	if len(key) < minFarMoveLen {
		return 0, false
	}
	d.farOnce.Do(func() {
		d.farMoves = make(map[string][]int)
		for _, h := range d.hunks {
			for j := h.newStart; j < h.newEnd; j++ {
				k := lineKey(d.new[j])
				d.farMoves[k] = append(d.farMoves[k], j)
			}
		}
	})
	if js := d.farMoves[key]; len(js) == 1 {
		return js[0], true
	}
	return 0, false
}

// nearest returns the 1-based new line standing where old line i (0-based)
// of hunk h was: its counterpart in the replacement text when there is one,
// else the line that now follows the deletion (or the last line).
func (d *Drift) nearest(h hunk, i int) int {
	if len(d.new) == 0 {
		return 0
	}
	j := h.newStart + min(i-h.oldStart, max(h.newEnd-h.newStart-1, 0))
	if j >= len(d.new) {
		j = len(d.new) - 1
	}
	return j + 1
}

// lineKey is a line with all white space removed: reformatting and
// re-indentation do not change a statement.
func lineKey(s string) string {
	if !strings.ContainsAny(s, " \t\r\v\f") {
		return s
	}
	return strings.Join(strings.Fields(s), "")
}

// similarity is 1 - levenshtein(a,b)/max(len) over runes, in 0..1.
func similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	const maxRunes = 400 // bound the O(n*m) cost on minified or generated lines
	ra, rb = ra[:min(len(ra), maxRunes)], rb[:min(len(rb), maxRunes)]
	longest := max(len(ra), len(rb))
	if longest == 0 {
		return 1
	}
	prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[len(rb)])/float64(longest)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// diffOp is a run of n lines that are equal, deleted or inserted.
type diffOp struct {
	kind diffmatchpatch.Operation
	n    int
}

// exactDiffLines bounds the files diffed without a deadline: below it the
// Myers diff is optimal and deterministic; above it go-diff may trade
// optimality for time.
const exactDiffLines = 20000

// diffLines diffs two line slices with go-diff's Myers implementation. Each
// distinct line becomes one rune (skipping the surrogate range, which go-diff
// would turn into U+FFFD and so confuse distinct lines); the diff of the rune
// strings is the line diff.
func diffLines(old, new []string) []diffOp {
	ids := make(map[string]rune, len(old)+len(new))
	encode := func(lines []string) ([]rune, bool) {
		rs := make([]rune, len(lines))
		for i, l := range lines {
			l = strings.TrimSuffix(l, "\r")
			r, ok := ids[l]
			if !ok {
				r = rune(len(ids) + 1)
				if r >= 0xD800 {
					r += 0x800
				}
				if r > 0x10FFFF {
					return nil, false
				}
				ids[l] = r
			}
			rs[i] = r
		}
		return rs, true
	}
	ro, okOld := encode(old)
	rn, okNew := encode(new)
	if !okOld || !okNew { // over a million distinct lines: one big hunk
		return []diffOp{{diffmatchpatch.DiffDelete, len(old)}, {diffmatchpatch.DiffInsert, len(new)}}
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	if len(old)+len(new) > exactDiffLines {
		dmp.DiffTimeout = 2 * time.Second
	}
	diffs := dmp.DiffMainRunes(ro, rn, false)
	ops := make([]diffOp, 0, len(diffs))
	for _, df := range diffs {
		if n := len([]rune(df.Text)); n > 0 {
			ops = append(ops, diffOp{df.Type, n})
		}
	}
	return ops
}

// splitLines splits file content into lines without their "\n"; a final
// newline does not start an extra empty line.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.Split(s, "\n")
}
