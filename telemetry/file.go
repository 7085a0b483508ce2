package telemetry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// readBufferSize is the bufio buffer under every file read; it is also the
// window in which the format is detected.
const readBufferSize = 64 << 10

// fileSource reads one file; see NewFileSource.
type fileSource struct {
	path     string
	defaults map[string]string
}

// NewFileSource returns a Source reading the file at path. The format is
// detected per file: logcli `--output jsonl` lines, a saved Loki query_range
// response, or plain text (a captured stderr), each optionally gzip
// compressed. defaults are the labels of plain-text entries (from CLI
// flags); they are normalised like any other labels. The file is opened on
// every Fetch, so a file that grows between fetches is read again whole.
// Query.Selector is ignored: a file holds what the user chose to give.
func NewFileSource(path string, defaults map[string]string) Source {
	return &fileSource{path: path, defaults: NormalizeLabels(defaults)}
}

func (f *fileSource) Name() string { return "file:" + f.path }

// Fetch reads the file from the start and delivers the entries in q's window.
func (f *fileSource) Fetch(ctx context.Context, q Query, fn func(incident.Event) error) (Stats, error) {
	var st Stats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	file, err := os.Open(f.path)
	if err != nil {
		return st, fmt.Errorf("read logs %s: %w", f.path, err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return st, fmt.Errorf("read logs %s: %w", f.path, err)
	}
	if info.IsDir() {
		return st, fmt.Errorf("read logs %s: is a directory", f.path)
	}
	br, closeGz, compressed, err := decompress(file)
	if err != nil {
		return st, fmt.Errorf("read logs %s: %w", f.path, err)
	}
	defer closeGz()

	r := &reader{ctx: ctx, q: q, fn: fn, st: &st, origin: f.path}
	st.Format = detectFormat(br)
	switch st.Format {
	case "query_range":
		cr := &countingReader{r: br}
		err = r.readQueryRange(cr)
		st.Bytes = cr.n
	case "jsonl":
		if backward, lines := jsonlBackward(file, info.Size()); !compressed && backward {
			st.Format = "jsonl (newest first, read backwards)"
			src := newReverseLineReader(file, info.Size(), lines)
			err = r.readJSONL(src)
			st.Bytes = src.consumed()
			break
		}
		st.Bytes, err = r.readJSONLParallel(br)
	default:
		if logcliDefault(br) {
			st.Hint = "this looks like `logcli query` default output, which trims each line and stamps it to the second, newest first: a trace cannot be put back together from it; save the query with `logcli query --output jsonl` (or --output raw, oldest first with --forward)"
		}
		lr := newLineReader(br)
		err = r.readText(lr, f.defaults, info.ModTime())
		st.Bytes = lr.bytes
	}
	if err != nil && !r.stopped {
		err = fmt.Errorf("read logs %s: %w", f.path, err)
	}
	return st, err
}

// decompress wraps the file in a gzip reader when it starts with the gzip
// magic bytes, whatever its name: rotated logs are often compressed without
// a .gz suffix, and a .gz file someone already unpacked is plain.
func decompress(file io.Reader) (*bufio.Reader, func(), bool, error) {
	raw := bufio.NewReaderSize(file, readBufferSize)
	magic, _ := raw.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return raw, func() {}, false, nil
	}
	gz, err := gzip.NewReader(raw)
	if err != nil {
		return nil, nil, true, fmt.Errorf("open gzip: %w", err)
	}
	return bufio.NewReaderSize(gz, readBufferSize), func() { gz.Close() }, true, nil
}

// detectFormat looks at the start of the input without consuming it. A JSON
// document whose first key is "status" or "data" is a query_range response;
// logcli jsonl is recognised by entries carrying a "line" field among the
// first lines, even when the very first line is junk or half an entry (a
// rotated or `tail -c`-cut file); anything else is text (including an
// application's own JSON logs, which are kept whole).
func detectFormat(br *bufio.Reader) string {
	head, _ := br.Peek(readBufferSize)
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
			switch key, _ := dec.Token(); key {
			case "status", "data":
				return "query_range"
			case "labels", "line", "timestamp": // also when the line outgrows the window
				return "jsonl"
			}
		}
	}
	const probeLines = 16
	entries, objects := 0, 0
	for i, line := range bytes.SplitN(trimmed, []byte{'\n'}, probeLines+1) {
		if i == probeLines {
			break
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		objects++
		var probe struct {
			Line *string `json:"line"`
		}
		if json.Unmarshal(line, &probe) == nil && probe.Line != nil {
			entries++
		}
	}
	if entries > 0 && entries*2 >= objects {
		return "jsonl"
	}
	return "text"
}

// reader carries the state every format shares: the query window, the
// callback and the stats.
type reader struct {
	ctx     context.Context
	q       Query
	fn      func(incident.Event) error
	st      *Stats
	origin  string
	stopped bool // fn or ctx ended the read: return their error unwrapped
	n       int
	borrow  BorrowingGate // q.Gate, when it is one
	preface PrefaceGate   // q.Gate, when it is one
	foreign ForeignGate   // q.Gate, when it is one
}

// deliver counts one event and hands it to fn when it lies in the window.
func (r *reader) deliver(ev incident.Event) error {
	if err := r.tick(); err != nil {
		return err
	}
	return r.hand(ev)
}

// tick counts an entry and notices, every 256 entries, that ctx ended.
func (r *reader) tick() error {
	r.n++
	if r.n%256 == 0 {
		if err := r.ctx.Err(); err != nil {
			r.stopped = true
			return err
		}
	}
	return nil
}

// hand gives fn an entry already counted by tick, when it lies in the window.
func (r *reader) hand(ev incident.Event) error {
	if !r.q.Contains(ev.Time) {
		return nil
	}
	r.st.Entries++
	if err := r.fn(ev); err != nil {
		r.stopped = true
		return err
	}
	return nil
}

func (r *reader) malformed(where, format string, args ...any) {
	r.st.Malformed++
	r.st.problem("%s: %s", where, fmt.Sprintf(format, args...))
}

func (r *reader) truncated(where string) {
	r.st.Truncated++
	r.st.problem("%s: line longer than %d bytes truncated", where, MaxLineBytes)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unixNano parses a decimal nanosecond timestamp as Loki writes them.
func unixNano(s string) (time.Time, bool) {
	if s == "" || len(s) > 19 || (len(s) == 19 && s > "9223372036854775807") {
		return time.Time{}, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(c-'0')
	}
	return time.Unix(0, n).UTC(), true
}

// logcliDefault reports whether a text file's first lines are shaped as
// `logcli query` prints by default: an RFC3339 time, the stream's label
// set in braces, the line.
func logcliDefault(br *bufio.Reader) bool {
	head, _ := br.Peek(readBufferSize)
	shaped, lines := 0, 0
	for _, line := range bytes.SplitN(head, []byte{'\n'}, 17)[:min(16, bytes.Count(head, []byte{'\n'}))] {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		_, rest, ok := leadingTimestamp(line)
		if ok && len(rest) > 0 && rest[0] == '{' {
			if end := bytes.Index(rest, []byte("} ")); end > 0 && bytes.Contains(rest[:end], []byte(`="`)) {
				shaped++
			}
		}
	}
	return lines > 0 && shaped*2 > lines
}
