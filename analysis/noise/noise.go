// Package noise holds the noise controls a team keeps in its repository, in
// .faultline/ignore, and the impact-based severity of an incident.
//
// The ignore file is reviewed like code: a snooze or a mute is a line in a
// diff, with a reason, instead of a click in someone's editor that the rest
// of the team never sees. Its format is one rule per line:
//
//	# comments and blank lines are skipped; text after " #" is the reason
//	snooze 3f9a1c2b7d10 until 2026-12-01        # hidden until that day (UTC)
//	snooze 3f9a1c2b7d10 until 2026-12-01T09:00:00Z
//	snooze 3f9a1c2b7d10 until-version v1.4.0 v1.4.1  # until seen in another version
//	ignore 3f9a1c2b7d10                          # hidden for good
//	mute vendor/**                               # incidents located under a glob
//	mute internal/legacy/*.go
//
// Ids are the incident ids of `faultline check` (stable fingerprints scoped
// to service and env). until-version lists the versions the incident was
// seen in when it was snoozed: it comes back as soon as it occurs in any
// other version, which is what "snooze until the fix ships" means when the
// fix did not work. Globs are repo-relative with forward slashes; "*"
// stays within a folder, "**" spans folders. Rules are matched in file
// order; the first that hides an incident is reported.
package noise

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the ignore file, relative to the workspace root.
const FileName = ".faultline/ignore"

// Rule kinds.
const (
	KindSnooze = "snooze"
	KindIgnore = "ignore"
	KindMute   = "mute"
)

// maxFileBytes bounds the ignore file: it comes from a cloned repository and
// is as untrusted as a log line.
const maxFileBytes = 1 << 20

// Rule is one line of the ignore file.
type Rule struct {
	Kind string // KindSnooze, KindIgnore or KindMute
	// ID is the incident id (snooze, ignore).
	ID string
	// Until ends a date snooze; zero for until-version snoozes.
	Until time.Time
	// Versions are the versions a until-version snooze was taken at.
	Versions []string
	// Glob is the repo-relative path pattern of a mute.
	Glob   string
	Reason string
	Line   int // 1-based line in the file
}

// Where names the rule's line for messages: ".faultline/ignore:3".
func (r Rule) Where() string { return fmt.Sprintf("%s:%d", FileName, r.Line) }

// Rules is a parsed ignore file.
type Rules struct {
	Rules []Rule
}

// Load reads root/.faultline/ignore. A missing file is no rules, not an
// error; a malformed line is an error naming the file and line.
func Load(root string) (Rules, error) {
	p := filepath.Join(root, filepath.FromSlash(FileName))
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Rules{}, nil
	}
	if err != nil {
		return Rules{}, fmt.Errorf("read %s: %w", FileName, err)
	}
	defer f.Close()
	return Parse(io.LimitReader(f, maxFileBytes))
}

// Parse reads the ignore file format (see the package comment).
func Parse(r io.Reader) (Rules, error) {
	var rules Rules
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		rule, ok, err := parseLine(sc.Text())
		if err != nil {
			return Rules{}, fmt.Errorf("%s:%d: %w", FileName, n, err)
		}
		if ok {
			rule.Line = n
			rules.Rules = append(rules.Rules, rule)
		}
	}
	if err := sc.Err(); err != nil {
		return Rules{}, fmt.Errorf("%s:%d: %w", FileName, n+1, err)
	}
	return rules, nil
}

// parseLine reads one line; ok is false for blank and comment lines.
func parseLine(line string) (Rule, bool, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return Rule{}, false, nil
	}
	var reason string
	if i := strings.Index(line, " #"); i >= 0 {
		line, reason = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
	} else if i := strings.Index(line, "\t#"); i >= 0 {
		line, reason = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
	}
	fields := strings.Fields(line)
	r := Rule{Kind: fields[0], Reason: reason}
	switch r.Kind {
	case KindIgnore:
		if len(fields) != 2 {
			return r, false, fmt.Errorf("want `ignore <incident id>`, got %q", line)
		}
		r.ID = fields[1]
	case KindMute:
		if len(fields) != 2 {
			return r, false, fmt.Errorf("want `mute <path glob>`, got %q", line)
		}
		r.Glob = strings.TrimPrefix(fields[1], "./")
		if err := checkGlob(r.Glob); err != nil {
			return r, false, err
		}
	case KindSnooze:
		return parseSnooze(r, fields, line)
	default:
		return r, false, fmt.Errorf("unknown rule %q: want snooze, ignore or mute", fields[0])
	}
	return r, true, nil
}

func parseSnooze(r Rule, fields []string, line string) (Rule, bool, error) {
	if len(fields) < 3 {
		return r, false, fmt.Errorf("want `snooze <id> until YYYY-MM-DD` or `snooze <id> until-version <version>...`, got %q", line)
	}
	r.ID = fields[1]
	switch fields[2] {
	case "until":
		if len(fields) != 4 {
			return r, false, fmt.Errorf("want `snooze <id> until YYYY-MM-DD`, got %q", line)
		}
		t, err := parseDate(fields[3])
		if err != nil {
			return r, false, err
		}
		r.Until = t
	case "until-version":
		if len(fields) < 4 {
			return r, false, fmt.Errorf("until-version needs the versions the incident was seen in, e.g. `snooze %s until-version v1.4.0`", r.ID)
		}
		r.Versions = fields[3:]
	default:
		return r, false, fmt.Errorf("want `until` or `until-version` after the id, got %q", fields[2])
	}
	return r, true, nil
}

// parseDate accepts a day (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD or RFC 3339 (2026-12-01T09:00:00Z)", s)
}

// checkGlob rejects patterns path.Match would reject, segment by segment.
func checkGlob(g string) error {
	if g == "" || strings.HasPrefix(g, "/") {
		return fmt.Errorf("mute %q: want a repo-relative glob such as vendor/**", g)
	}
	stars := 0
	for _, seg := range strings.Split(g, "/") {
		if seg == "**" {
			if stars++; stars > 3 {
				return fmt.Errorf("mute %q: at most three ** per pattern", g)
			}
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("mute %q: bad pattern: %w", g, err)
		}
	}
	return nil
}

// matchGlob reports whether the repo-relative file matches the pattern:
// "*" and "?" within a segment, "**" for any number of segments.
func matchGlob(pattern, file string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(file, "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(segs); i++ {
				if matchSegs(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
