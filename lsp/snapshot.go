package lsp

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// snapshot is one poll's result for one root. It is never modified after
// it is stored: handlers read it without locks.
type snapshot struct {
	root    string
	byFile  map[string][]*entry // absolute path -> entries, in incident order
	byID    map[string]*entry
	order   []*entry // every located incident, as the engine returned them
	sources []SourceStatus
	stale   bool
	message string
	taken   time.Time
}

// entry is an incident placed in the workspace, with what rendering needs
// from the file on disk computed once per poll.
type entry struct {
	inc    *incident.Incident
	path   string // absolute
	uri    string
	line   int // 0-based, in the file on disk
	indent int // UTF-16 column of the first non-blank character on disk
	end    int // UTF-16 length of the line on disk
	fnLine int // 0-based line of the enclosing function's declaration, or line
	// related is the in-app callers inside the workspace.
	related []protocol.DiagnosticRelatedInformation
}

func emptySnapshot(root string) *snapshot {
	return &snapshot{root: root, byFile: map[string][]*entry{}, byID: map[string]*entry{}}
}

// fileCache reads each file of the workspace at most once per poll.
type fileCache map[string][]string

func (fc fileCache) lines(path string) []string {
	if l, ok := fc[path]; ok {
		return l
	}
	var l []string
	if data, err := os.ReadFile(path); err == nil {
		l = strings.Split(string(data), "\n")
	}
	fc[path] = l
	return l
}

// resolve joins a repo-relative path to root, refusing paths that leave it
// (incident data comes from production logs and is not trusted).
func resolve(root, rel string) (string, bool) {
	if rel == "" || filepath.IsAbs(rel) {
		return "", false
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if r, err := filepath.Rel(root, p); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return p, true
}

// buildSnapshot places a result's incidents in the workspace.
func buildSnapshot(root string, res Result, taken time.Time) *snapshot {
	snap := emptySnapshot(root)
	snap.sources, snap.message, snap.taken = res.Sources, res.Empty, taken
	fc := fileCache{}
	for i := range res.Incidents {
		inc := &res.Incidents[i]
		if inc.Location == nil || inc.Location.Line < 1 {
			continue
		}
		path, ok := resolve(root, inc.Location.File)
		if !ok {
			continue
		}
		e := &entry{inc: inc, path: path, uri: pathToURI(path), line: inc.Location.Line - 1}
		lines := fc.lines(path)
		text := lineAt(lines, e.line)
		e.indent, e.end = utf16Len(text[:indentBytes(text)]), utf16Len(text)
		e.fnLine = functionLine(lines, e.line, inc.Location.Function)
		e.related = relatedFrames(root, inc, fc)
		snap.byFile[path] = append(snap.byFile[path], e)
		if _, dup := snap.byID[inc.ID]; !dup {
			snap.byID[inc.ID] = e
		}
		snap.order = append(snap.order, e)
	}
	return snap
}

func lineAt(lines []string, i int) string {
	if i < 0 || i >= len(lines) {
		return ""
	}
	return strings.TrimSuffix(lines[i], "\r")
}

// functionLine finds the declaration of the function holding line by
// looking upward for a line naming its short name in a declaration; the
// code lens goes there. It falls back to the incident's line.
func functionLine(lines []string, line int, function string) int {
	name := shortName(function)
	if name == "" {
		return line
	}
	for i := line; i >= 0 && i > line-300; i-- {
		l := lineAt(lines, i)
		if !strings.Contains(l, name) {
			continue
		}
		t := strings.TrimSpace(l)
		for _, kw := range []string{"func ", "def ", "async def ", "function ", "public ", "private ", "protected ", "static "} {
			if strings.HasPrefix(t, kw) {
				return i
			}
		}
		if strings.Contains(t, name+"(") && strings.HasSuffix(t, "{") {
			return i // JS/Java methods: name(args) {
		}
	}
	return line
}

// shortName turns "main.(*Cart).Total", "com.acme.Cart.total" or
// "Cart.total" into the identifier declared in source.
func shortName(function string) string {
	f := function
	if i := strings.LastIndexAny(f, "./:"); i >= 0 {
		f = f[i+1:]
	}
	f = strings.TrimSuffix(strings.Trim(f, "()*<> "), "-fm")
	if f == "" || strings.HasPrefix(f, "func") || strings.Contains(f, "anonymous") || strings.Contains(f, "lambda") {
		return ""
	}
	return f
}

// relatedFrames lists the in-app caller frames mapped into the workspace,
// skipping the frame the diagnostic already sits on.
func relatedFrames(root string, inc *incident.Incident, fc fileCache) []protocol.DiagnosticRelatedInformation {
	var out []protocol.DiagnosticRelatedInformation
	skipped := false
	for _, f := range inc.Frames {
		if !f.InApp || !f.Mapped || f.Line < 1 {
			continue
		}
		if !skipped && f.File == inc.Location.File && f.Line == inc.Location.Line {
			skipped = true
			continue
		}
		path, ok := resolve(root, f.File)
		if !ok {
			continue
		}
		text := lineAt(fc.lines(path), f.Line-1)
		line := uint32(f.Line - 1)
		out = append(out, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: protocol.DocumentURI(pathToURI(path)), Range: protocol.Range{
				Start: protocol.Position{Line: line, Character: uint32(utf16Len(text[:indentBytes(text)]))},
				End:   protocol.Position{Line: line, Character: uint32(utf16Len(text))},
			}},
			Message: "called from " + f.Function,
		})
	}
	return out
}
