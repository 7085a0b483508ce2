package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/txtar"
)

// deletedContent marks a file the commit deletes.
const deletedContent = "<deleted>"

// loadCommits reads every commits/*.txtar in name order.
func loadCommits(fsys fs.FS, dir string) ([]Commit, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("list commits: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".txtar") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	commits := make([]Commit, 0, len(names))
	for _, n := range names {
		raw, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("read commit %s: %w", n, err)
		}
		c, err := parseCommit(strings.TrimSuffix(n, ".txtar"), raw)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", n, err)
		}
		if len(commits) > 0 && !c.Time.After(commits[len(commits)-1].Time) {
			return nil, fmt.Errorf("commit %s: date %s is not after the previous commit", n, c.Time.Format(time.RFC3339))
		}
		commits = append(commits, c)
	}
	return commits, nil
}

// parseCommit reads one commit archive: the header lines "message:",
// "author:" and "date:" (RFC 3339), the optional "parent:", "merge:" and
// "branch:" lines (see the package doc), an optional body after a blank
// line, then the files.
func parseCommit(id string, raw []byte) (Commit, error) {
	a := txtar.Parse(raw)
	c := Commit{ID: id}
	sc := bufio.NewScanner(bytes.NewReader(a.Comment))
	inBody := false
	var body []string
	for sc.Scan() {
		line := sc.Text()
		if inBody {
			body = append(body, line)
			continue
		}
		if strings.TrimSpace(line) == "" {
			inBody = c.Subject != ""
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return c, fmt.Errorf("header line %q is not key: value", line)
		}
		val = strings.TrimSpace(val)
		switch key {
		case "message":
			c.Subject = val
		case "author":
			c.Author = val
		case "parent":
			c.Parent = val
		case "merge":
			c.Merge = val
		case "branch":
			c.Branch = val
		case "date":
			t, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return c, fmt.Errorf("date: %w", err)
			}
			c.Time = t
		default:
			return c, fmt.Errorf("unknown header %q", key)
		}
	}
	c.Body = strings.TrimSpace(strings.Join(body, "\n"))
	if c.Subject == "" || c.Author == "" || c.Time.IsZero() {
		return c, fmt.Errorf("message, author and date are required")
	}
	if _, _, err := splitAuthor(c.Author); err != nil {
		return c, err
	}
	c.Files, c.Deleted = parseFiles(raw)
	if len(c.Files)+len(c.Deleted) == 0 && c.Merge == "" {
		return c, fmt.Errorf("commit changes no files")
	}
	return c, nil
}

// parseFiles returns the files of a txtar archive and the paths it deletes.
func parseFiles(raw []byte) (map[string][]byte, []string) {
	a := txtar.Parse(raw)
	files := map[string][]byte{}
	var deleted []string
	for _, f := range a.Files {
		name := path.Clean(f.Name)
		if strings.TrimSpace(string(f.Data)) == deletedContent {
			deleted = append(deleted, name)
			continue
		}
		files[name] = f.Data
	}
	return files, deleted
}

// splitAuthor splits "Name <email>".
func splitAuthor(s string) (name, email string, err error) {
	i, j := strings.IndexByte(s, '<'), strings.IndexByte(s, '>')
	if i < 1 || j < i {
		return "", "", fmt.Errorf("author %q is not \"Name <email>\"", s)
	}
	return strings.TrimSpace(s[:i]), s[i+1 : j], nil
}
