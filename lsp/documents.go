package lsp

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// document is one open editor buffer. Values are immutable: each change
// builds a new document, so a reader holding one never sees a half-applied
// edit.
type document struct {
	uri     string
	path    string
	version int32
	lines   []string // split on "\n"; a trailing "\r" stays in the line
	// base maps a line of the text at didOpen (the numbering the snapshot
	// uses) to its line now, or -1 when the line was deleted.
	base []int32
}

// mapLine returns the current line of a line of the opened text, or -1.
func (d *document) mapLine(line int) int {
	if line < 0 || line >= len(d.base) {
		return -1
	}
	return int(d.base[line])
}

func (d *document) line(i int) string {
	if i < 0 || i >= len(d.lines) {
		return ""
	}
	return strings.TrimSuffix(d.lines[i], "\r")
}

func (d *document) text() string { return strings.Join(d.lines, "\n") }

type documents struct {
	mu     sync.Mutex
	byPath map[string]*document
}

func newDocuments() *documents { return &documents{byPath: map[string]*document{}} }

func (ds *documents) get(path string) *document {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.byPath[path]
}

func newDocument(uri, path string, version int32, text string) *document {
	lines := strings.Split(text, "\n")
	base := make([]int32, len(lines))
	for i := range base {
		base[i] = int32(i)
	}
	return &document{uri: uri, path: path, version: version, lines: lines, base: base}
}

func (s *server) didOpen(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.DidOpenTextDocumentParams
	if err := decode(params, &p); err != nil {
		s.log.printf("didOpen: %v", err)
		return nil
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return nil
	}
	d := newDocument(string(p.TextDocument.URI), path, p.TextDocument.Version, p.TextDocument.Text)
	s.docs.mu.Lock()
	s.docs.byPath[path] = d
	s.docs.mu.Unlock()
	s.pub.publish(ctx, []string{path})
	return nil
}

func (s *server) didClose(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(params, &p); err != nil {
		return nil
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return nil
	}
	s.docs.mu.Lock()
	delete(s.docs.byPath, path)
	s.docs.mu.Unlock()
	s.pub.publish(ctx, []string{path}) // back to the lines on disk
	return nil
}

// contentChange is TextDocumentContentChangeEvent with an optional range
// (the library's type cannot tell a full-text change from an edit at 0:0).
type contentChange struct {
	Range *protocol.Range `json:"range"`
	Text  string          `json:"text"`
}

type didChangeParams struct {
	TextDocument protocol.VersionedTextDocumentIdentifier `json:"textDocument"`
	Changes      []contentChange                          `json:"contentChanges"`
}

func (s *server) didChange(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p didChangeParams
	if err := decode(params, &p); err != nil {
		s.log.printf("didChange: %v", err)
		return nil
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return nil
	}
	s.docs.mu.Lock()
	old := s.docs.byPath[path]
	if old == nil || p.TextDocument.Version <= old.version {
		s.docs.mu.Unlock()
		if old == nil {
			s.log.printf("didChange for %s, which is not open: ignored", path)
		} else {
			s.log.printf("didChange for %s version %d after version %d: stale, ignored", path, p.TextDocument.Version, old.version)
		}
		return nil
	}
	d := old.apply(p.TextDocument.Version, p.Changes)
	s.docs.byPath[path] = d
	s.docs.mu.Unlock()
	s.pub.publish(ctx, []string{path})
	return nil
}

// apply returns the document after changes, with lines carried through.
func (d *document) apply(version int32, changes []contentChange) *document {
	nd := &document{uri: d.uri, path: d.path, version: version,
		lines: append([]string(nil), d.lines...), base: append([]int32(nil), d.base...)}
	for _, c := range changes {
		if c.Range == nil {
			nd.replaceAll(c.Text)
			continue
		}
		nd.edit(*c.Range, c.Text)
	}
	return nd
}

// edit applies one ranged change and moves the tracked lines: lines above
// stay, lines below shift by the lines added, an edit inside a line keeps
// it, and a line whose statement was removed is dropped.
func (d *document) edit(r protocol.Range, text string) {
	s, e := int(r.Start.Line), int(r.End.Line)
	if s >= len(d.lines) {
		s, r.Start.Character = len(d.lines)-1, uint32(utf16Len(d.line(len(d.lines)-1)))
	}
	if e >= len(d.lines) {
		e, r.End.Character = len(d.lines)-1, uint32(utf16Len(d.line(len(d.lines)-1)))
	}
	if e < s {
		return
	}
	sb := byteOffset(d.lines[s], int(r.Start.Character))
	eb := byteOffset(d.lines[e], int(r.End.Character))
	if s == e && eb < sb {
		return
	}
	sIndent, eIndent := indentBytes(d.lines[s]), indentBytes(d.lines[e])
	parts := strings.Split(text, "\n")
	k := len(parts) - 1
	// Where the line s content lands, and where the rest of line e lands.
	landS, landE := s, s+k
	if s == e && k > 0 && sb <= sIndent {
		landS = s + k // text inserted before the statement pushes it down
	}
	for i, v := range d.base {
		switch line := int(v); {
		case line < 0 || line < s:
		case line > e:
			d.base[i] = int32(line + k - (e - s))
		case line == s && s == e:
			d.base[i] = int32(landS)
		case line == s: // multi-line range starting on this line
			if sb <= sIndent {
				d.base[i] = -1
			}
		case line == e:
			if eb <= eIndent {
				d.base[i] = int32(landE)
			} else {
				d.base[i] = -1
			}
		default:
			d.base[i] = -1
		}
	}
	head, tail := d.lines[s][:sb], d.lines[e][eb:]
	repl := make([]string, len(parts))
	copy(repl, parts)
	repl[0] = head + repl[0]
	repl[k] += tail
	d.lines = append(d.lines[:s:s], append(repl, d.lines[e+1:]...)...)
}

// replaceAll handles a full-text change: each tracked line is kept when the
// same text is found again, nearest its old place.
func (d *document) replaceAll(text string) {
	newLines := strings.Split(text, "\n")
	at := map[string][]int{}
	for i, l := range newLines {
		if strings.TrimSpace(l) != "" {
			at[l] = append(at[l], i)
		}
	}
	for i, v := range d.base {
		if v < 0 {
			continue
		}
		cands, best := at[d.lines[v]], -1
		for _, c := range cands {
			if best < 0 || abs(c-int(v)) < abs(best-int(v)) {
				best = c
			}
		}
		d.base[i] = int32(best)
	}
	d.lines = newLines
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func indentBytes(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

// utf16Len is the length of s in UTF-16 code units (LSP's column unit).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// byteOffset converts a UTF-16 column in line to a byte offset, clamped to
// the line (without its "\r").
func byteOffset(line string, col int) int {
	line = strings.TrimSuffix(line, "\r")
	n := 0
	for i, r := range line {
		if n >= col {
			return i
		}
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return len(line)
}

// utf16Col converts a byte offset in line to a UTF-16 column.
func utf16Col(line string, b int) int {
	if b > len(line) {
		b = len(line)
	}
	for b > 0 && b < len(line) && !utf8.RuneStart(line[b]) {
		b--
	}
	return utf16Len(line[:b])
}

// pathToURI renders an absolute path as a file URI.
func pathToURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// uriToPath reads a file URI; other schemes are not ours.
func uriToPath(uri string) (string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	return filepath.Clean(filepath.FromSlash(u.Path)), true
}
