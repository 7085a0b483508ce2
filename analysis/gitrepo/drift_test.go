package gitrepo

import (
	"slices"
	"strings"
	"testing"
)

func lines(s string) []string { return strings.Split(s, "|") }

func TestLineMap(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []int // index 0 unused
	}{
		{"identical", "a|b|c", "a|b|c", []int{0, 1, 2, 3}},
		{"inserted above", "a|b|c", "x|y|a|b|c", []int{0, 3, 4, 5}},
		{"deleted above", "a|b|c", "b|c", []int{0, 0, 1, 2}},
		{"changed middle", "a|b|c", "a|B|c", []int{0, 1, 0, 3}},
		{"all gone", "a|b", "", []int{0, 0, 0}},
		{"crlf equals lf", "a\r|b\r", "a|b", []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nw []string
			if tt.new != "" {
				nw = lines(tt.new)
			}
			if got := LineMap(lines(tt.old), nw); !slices.Equal(got, tt.want) {
				t.Errorf("LineMap = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCarryLines(t *testing.T) {
	tests := []struct {
		name       string
		old, new   string
		line       int
		wantLine   int
		wantStatus string
	}{
		{"unchanged", "a|crash()|c", "a|crash()|c", 2, 2, StatusUnchanged},
		{"lines inserted above", "a|crash()|c", "a|x|y|crash()|c", 2, 4, StatusMoved},
		{"lines deleted above", "a|b|c|crash()", "a|crash()", 4, 2, StatusMoved},
		{"neighbour edited", "a|b|crash()|d", "a|B2|crash()|D2", 3, 3, StatusUnchanged},
		// The diff pairs the hunk as delete+insert; the text is found inside.
		{"re-indented in a rewritten hunk", "f(|\tx := a[i]|\ty := 2|)", "f(|    w := 0|    x := a[i]|)", 2, 3, StatusMoved},
		{"edited slightly", "a|x := a[i]|c", "a|x := a[i+1]|c", 2, 2, StatusUnchanged},
		{"edited slightly and shifted", "a|x := a[i]|c", "new|a|x := a[i+1]|c", 2, 3, StatusMoved},
		{"edited slightly among replacements", "a|b := 1|x := a[i]|c", "a|log.Print(b)|q := compute(b)|x := a[i+1]|c", 3, 4, StatusMoved},
		{"replaced by something else", "a|x := a[i]|c", "a|log.Fatal(\"boom\")|c", 2, 2, StatusDeleted},
		{"deleted: nearest is what follows", "a|b|gone := true|c|d", "a|b|c|d", 3, 3, StatusDeleted},
		{"deleted at end: nearest is last line", "a|b|gone := true", "a|b", 3, 2, StatusDeleted},
		{"short lines need exact text", "a|i++|c", "a|j++|c", 2, 2, StatusDeleted},
		{"block moved far away", "alpha := compute()|k|l|m|beta := other()", "k|l|m|beta := other()|alpha := compute()", 1, 5, StatusMoved},
		{"outside old file", "a|b", "a|b", 3, 0, StatusMissing},
		{"zero line", "a|b", "a|b", 0, 0, StatusMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotLine, gotStatus := CarryLines(lines(tt.old), lines(tt.new), tt.line)
			if gotLine != tt.wantLine || gotStatus != tt.wantStatus {
				t.Errorf("CarryLines(line %d) = %d %s, want %d %s", tt.line, gotLine, gotStatus, tt.wantLine, tt.wantStatus)
			}
		})
	}
}

func TestCarryLinesIntoEmptyFile(t *testing.T) {
	if n, st := CarryLines(lines("a|b"), nil, 1); n != 0 || st != StatusDeleted {
		t.Errorf("got %d %s, want 0 deleted", n, st)
	}
}

func TestSimilarityThresholdExamples(t *testing.T) {
	// The examples the SimilarityThreshold doc comment promises.
	tests := []struct {
		a, b  string
		above bool
	}{
		{"x := a[i]", "x := a[i+1]", true},
		{"return nil", "return err", true},
		{"x := a[i]", `log.Fatal("boom")`, false},
		{"sum += it.Price", "return len(items)", false},
	}
	for _, tt := range tests {
		s := similarity(lineKey(tt.a), lineKey(tt.b))
		if (s >= SimilarityThreshold) != tt.above {
			t.Errorf("similarity(%q, %q) = %.2f, threshold %.2f, want above=%v", tt.a, tt.b, s, SimilarityThreshold, tt.above)
		}
	}
}

func FuzzCarryLines(f *testing.F) {
	f.Add("a|b|c", "a|x|c", 2)
	f.Add("", "a", 1)
	f.Fuzz(func(t *testing.T, old, new string, line int) {
		o, n := lines(old), lines(new)
		got, status := CarryLines(o, n, line)
		if status != StatusMissing && (got < 0 || got > len(n)) {
			t.Fatalf("line %d out of new file (%d lines)", got, len(n))
		}
	})
}

// TestCarryRewrapped carries statements a formatter re-wrapped: prettier
// splitting a long call over one line per argument (and adding a trailing
// comma), black joining a wrapped call back onto one line, the same while
// lines are inserted above. The statement is found at its first line, not
// reported as deleted ("it may already be fixed"); text that merely starts
// alike is not taken for it.
func TestCarryRewrapped(t *testing.T) {
	tests := []struct {
		name       string
		old, new   string
		line       int
		wantLine   int
		wantStatus string
	}{
		{"prettier split, trailing comma",
			"  total(cart) {|    return cart.items.reduce((sum, it) => sum + it.price * it.qty, 0);|  }",
			"  total(cart) {|    return cart.items.reduce(|      (sum, it) => sum + it.price * it.qty,|      0,|    );|  }",
			2, 2, StatusUnchanged},
		{"split and moved down",
			"def f(rows):|    return compute_total(rows, currency=cur, rounding=True)|",
			"import x|||def f(rows):|    return compute_total(|        rows, currency=cur, rounding=True|    )|",
			2, 5, StatusMoved},
		{"joined onto one line, failing line in the middle",
			"def f(rows):|    total = compute_total(|        rows,|        currency=cur[code],|    )|    return total",
			"def f(rows):|    log(rows)|    total = compute_total(rows, currency=cur[code])|    return total",
			4, 3, StatusMoved},
		{"a longer call is not the statement",
			"a|    result = process(items, limit=10)|b",
			"a|    result = process(|        items, limit=10, strict=True|    )|b",
			2, 2, StatusDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotLine, gotStatus := CarryLines(lines(tt.old), lines(tt.new), tt.line)
			if gotLine != tt.wantLine || gotStatus != tt.wantStatus {
				t.Errorf("CarryLines(line %d) = %d %s, want %d %s", tt.line, gotLine, gotStatus, tt.wantLine, tt.wantStatus)
			}
		})
	}
}
