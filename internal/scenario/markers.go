package scenario

import (
	"bytes"
	"regexp"
	"sort"
	"strings"
)

// markerRE matches a trailing marker comment: "// CRASH", "# CRASH",
// "// CRASH(id)", with the whitespace before it.
var markerRE = regexp.MustCompile(`[ \t]*(?://|#)[ \t]*CRASH(?:\(([\w.-]+)\))?[ \t]*$`)

// Marker is a marked statement found in a tree.
type Marker struct {
	ID   string // "" for a plain CRASH marker
	File string // repo-relative
	Line int    // 1-based
	Text string // the statement, marker removed, trimmed
}

// FindMarkers lists the markers in a tree (markers kept), sorted by file
// and line.
func FindMarkers(tree map[string][]byte) []Marker {
	var out []Marker
	for file, b := range tree {
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSuffix(line, "\r") // a file with CRLF line endings
			m := markerRE.FindStringSubmatchIndex(line)
			if m == nil {
				continue
			}
			id := ""
			if m[2] >= 0 {
				id = line[m[2]:m[3]]
			}
			out = append(out, Marker{ID: id, File: file, Line: i + 1, Text: strings.TrimSpace(line[:m[0]])})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// MarkerFor returns the first marker with id in a tree.
func MarkerFor(tree map[string][]byte, id string) (Marker, bool) {
	for _, m := range FindMarkers(tree) {
		if m.ID == id {
			return m, true
		}
	}
	return Marker{}, false
}

// StripMarkers removes marker comments, leaving every line in place.
func StripMarkers(b []byte) []byte {
	if !bytes.Contains(b, []byte("CRASH")) {
		return b
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		body, cr := strings.CutSuffix(l, "\r") // CRLF line endings are kept
		if loc := markerRE.FindStringIndex(body); loc != nil {
			lines[i] = body[:loc[0]]
			if cr {
				lines[i] += "\r"
			}
		}
	}
	return []byte(strings.Join(lines, "\n"))
}
