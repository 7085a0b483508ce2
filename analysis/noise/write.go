package noise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AddSnooze appends `snooze <id> until <date> # <reason>` to
// root/.faultline/ignore, creating the file (with a header saying what it
// is) when needed. It is what the "Snooze this incident" code action calls;
// the line lands in the working tree for the user to commit.
func AddSnooze(root, id string, until time.Time, reason string) error {
	if until.IsZero() {
		return fmt.Errorf("snooze %s: no end date", id)
	}
	day := until.UTC().Format("2006-01-02")
	if !until.UTC().Truncate(24 * time.Hour).Equal(until.UTC()) {
		day = until.UTC().Format(time.RFC3339)
	}
	return appendRule(root, fmt.Sprintf("snooze %s until %s", id, day), reason)
}

// AddSnoozeUntilVersion appends `snooze <id> until-version <versions>`:
// the incident stays hidden until it occurs in a version not listed (give
// the incident's current Versions).
func AddSnoozeUntilVersion(root, id string, versions []string, reason string) error {
	if len(versions) == 0 {
		return fmt.Errorf("snooze %s until a new version: the incident has no known version", id)
	}
	for _, v := range versions {
		if !token(v) {
			return fmt.Errorf("snooze %s: version %q cannot be written to %s", id, v, FileName)
		}
	}
	return appendRule(root, fmt.Sprintf("snooze %s until-version %s", id, strings.Join(versions, " ")), reason)
}

// token reports whether s can be one field of a rule line.
func token(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n#") && !strings.HasPrefix(s, "-")
}

const header = "# Faultline noise controls, reviewed like code: one rule per line, text after \" #\" is the reason.\n" +
	"# Format: snooze <id> until YYYY-MM-DD | snooze <id> until-version <v>... | ignore <id> | mute <glob>\n"

func appendRule(root, rule, reason string) error {
	if id := strings.Fields(rule)[1]; !token(id) {
		return fmt.Errorf("incident id %q cannot be written to %s", id, FileName)
	}
	reason = strings.Join(strings.Fields(reason), " ") // one line, whatever was typed
	line := rule
	if reason != "" {
		line += " # " + reason
	}
	if _, _, err := parseLine(line); err != nil {
		return fmt.Errorf("write %s: %w", FileName, err)
	}
	p := filepath.Join(root, filepath.FromSlash(FileName))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(FileName), err)
	}
	old, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", FileName, err)
	}
	var b strings.Builder
	if len(old) == 0 {
		b.WriteString(header)
	} else if old[len(old)-1] != '\n' {
		b.WriteByte('\n')
	}
	b.WriteString(line + "\n")
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", FileName, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("append to %s: %w", FileName, err)
	}
	return f.Close()
}
