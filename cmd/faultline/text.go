package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/incident"
)

// writeText prints incidents in compiler style, so editors and terminals
// link `path:line:col:` to the file, with a short code frame under each.
func writeText(w io.Writer, root string, res analysis.Result) error {
	bw := bufio.NewWriter(w)
	for _, inc := range res.Incidents {
		loc := "?"
		if l := inc.Location; l != nil {
			col := l.Column
			if col == 0 {
				col = 1
			}
			loc = fmt.Sprintf("%s:%d:%d", l.File, l.Line, col)
		} else if len(inc.Frames) > 0 {
			loc = fmt.Sprintf("%s:%d (not in this workspace)", sanitize(inc.Frames[0].OriginalPath), inc.Frames[0].OriginalLine)
		}
		// The message usually starts with the error type; a class name
		// (KeyError, java.lang.NullPointerException) that it lacks is added.
		what := inc.Message
		if !strings.HasPrefix(inc.Message, inc.ErrorType) && !strings.ContainsAny(inc.ErrorType, " :") {
			what = inc.ErrorType + ": " + inc.Message
		}
		fmt.Fprintf(bw, "%s: %s (%s)\n", loc, sanitize(what), sanitize(summaryCounts(inc)))
		if l := inc.Location; l != nil {
			codeFrame(bw, filepath.Join(root, filepath.FromSlash(l.File)), l.Line, lineKnown(l.Status))
			if l.Note != "" {
				fmt.Fprintf(bw, "    note: %s\n", sanitize(l.Note))
			}
		}
		if rc := inc.RootCause; rc != nil && rc.Summary != "" {
			fmt.Fprintf(bw, "    cause (%.0f%%): %s\n", rc.Confidence*100, sanitize(rc.Summary))
			if rc.LLMSummary != "" {
				fmt.Fprintf(bw, "    llm: %s\n", sanitize(rc.LLMSummary))
			}
		}
		for _, f := range inc.Fixes {
			state := "validated"
			if !f.Validated {
				state = "not validated"
			}
			fmt.Fprintf(bw, "    fix (%s, %s): %s (--format json has the diff)\n", f.Source, state, sanitize(f.Title))
		}
		fmt.Fprintln(bw)
	}
	if len(res.Incidents) == 0 {
		fmt.Fprintln(bw, "no incidents.")
	}
	if res.Empty != "" {
		fmt.Fprintln(bw, "why:", res.Empty)
	}
	return bw.Flush()
}

// summaryCounts is "14x in checkout/prod since 10:42, after v1.4.0".
func summaryCounts(inc incident.Incident) string {
	where := inc.Service
	if inc.Env != "" {
		where += "/" + inc.Env
	}
	s := fmt.Sprintf("%dx", inc.Count)
	if where != "" {
		s += " in " + where
	}
	s += " since " + inc.FirstSeen.Format("2006-01-02 15:04")
	if inc.Deploy != nil && inc.Deploy.Label() != "" {
		s += ", after " + inc.Deploy.Label()
	} else if len(inc.Versions) > 0 {
		s += ", " + strings.Join(inc.Versions, ", ")
	}
	return s
}

// lineKnown reports whether a location's status says the line is the
// failing statement at HEAD. A statement deleted since the deploy, or a
// line that could not be carried (no deployed commit, or one HEAD's history
// lacks), is shown where it is nearest or as printed: its code frame marks
// the line "?" instead of ">", and the note says why.
func lineKnown(status string) bool {
	switch status {
	case "deleted", "missing", "unknown":
		return false
	}
	return true
}

// codeFrame prints the failing line with one line of context either side;
// known says whether that line is the failing statement (see lineKnown).
func codeFrame(w io.Writer, path string, line int, known bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan() && n <= line+1; n++ {
		if n < line-1 {
			continue
		}
		mark := "  "
		if n == line {
			mark = "> "
			if !known {
				mark = "? "
			}
		}
		fmt.Fprintf(w, "  %s%5d | %s\n", mark, n, strings.ReplaceAll(sanitize(sc.Text()), "\t", "    "))
	}
}

// sanitize removes what could drive or deceive a terminal: ANSI escape
// sequences, C0 and C1 control characters (U+009B starts a sequence on many
// terminals), and the bidirectional overrides that reorder displayed text
// ("Trojan Source"). Log text is untrusted.
func sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == 0x1b { // ESC [ params final-byte, or ESC + one byte
			i++
			if i < len(s) && s[i] == '[' {
				i++
				for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
					i++
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == utf8.RuneError && size == 1:
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
