package telemetry

import (
	"bufio"
	"bytes"
	"io"
	"os"
)

// lineSource is what the line-oriented formats read from: the lines of a
// file in the order they should be delivered.
type lineSource interface {
	next() (line []byte, truncated bool, err error)
	lineNo() int     // 1-based number, counted from the top of the file, of the line last returned
	consumed() int64 // bytes read so far
}

func (lr *lineReader) lineNo() int     { return lr.line }
func (lr *lineReader) consumed() int64 { return lr.bytes }

// reverseChunk is how much of the file a reverseLineReader reads at a time.
const reverseChunk = 64 << 10

// reverseLineReader yields the lines of a file from the last to the first.
// `logcli query` prints newest first by default (--direction backward), and
// a trace can only be put back together in the order it was written; so a
// backward file is read backwards, in bounded memory, instead of being
// loaded and sorted.
type reverseLineReader struct {
	f       io.ReaderAt
	pos     int64    // file offset of the first byte not yet read
	carry   []byte   // the start of the file up to pos belongs to a line not yet complete
	queue   [][]byte // complete lines of the last chunk, next to return last
	cut     bool     // carry outgrew MaxLineBytes: the line is returned truncated
	line    int
	read    int64
	started bool
}

func newReverseLineReader(f io.ReaderAt, size int64, lines int) *reverseLineReader {
	return &reverseLineReader{f: f, pos: size, line: lines + 1}
}

func (r *reverseLineReader) lineNo() int     { return r.line }
func (r *reverseLineReader) consumed() int64 { return r.read }

func (r *reverseLineReader) next() ([]byte, bool, error) {
	for len(r.queue) == 0 {
		if r.pos == 0 {
			if r.carry == nil && !r.cut {
				return nil, false, io.EOF
			}
			l, cut := r.carry, r.cut
			r.carry, r.cut = nil, false
			r.line--
			return bytes.TrimSuffix(l, []byte{'\r'}), cut, nil
		}
		if err := r.fill(); err != nil {
			return nil, false, err
		}
	}
	l := r.queue[len(r.queue)-1]
	r.queue = r.queue[:len(r.queue)-1]
	r.line--
	if l == nil { // marker of a line cut at MaxLineBytes
		return []byte{}, true, nil
	}
	return bytes.TrimSuffix(l, []byte{'\r'}), false, nil
}

// fill reads the chunk before pos and queues the lines it completes.
func (r *reverseLineReader) fill() error {
	n := int64(reverseChunk)
	if n > r.pos {
		n = r.pos
	}
	buf := make([]byte, n, n+int64(len(r.carry)))
	if _, err := r.f.ReadAt(buf, r.pos-n); err != nil && err != io.EOF {
		return err
	}
	r.pos -= n
	r.read += n
	data := append(buf, r.carry...)
	if !r.started {
		r.started = true
		data = bytes.TrimSuffix(data, []byte{'\n'}) // the file's final newline ends the last line
	}
	parts := bytes.Split(data, []byte{'\n'})
	for _, p := range parts[1:] {
		if r.cut {
			r.queue = append(r.queue, nil)
			r.cut = false
			continue
		}
		r.queue = append(r.queue, p)
	}
	r.carry = parts[0]
	if len(r.carry) > MaxLineBytes {
		r.carry, r.cut = r.carry[:0], true
	}
	return nil
}

// jsonlBackward reports whether a logcli jsonl file lists its entries newest
// first: its first entry is later than its last. Only uncompressed files can
// be read backwards; for those it also counts the lines, so entries keep
// their line numbers in messages.
func jsonlBackward(f *os.File, size int64) (backward bool, lines int) {
	first, err := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), readBufferSize).ReadSlice('\n')
	if err != nil && err != io.EOF {
		return false, 0
	}
	rr := newReverseLineReader(f, size, 0)
	var last []byte
	for i := 0; i < 16; i++ { // skip blank or broken lines at the end
		l, cut, err := rr.next()
		if err != nil {
			return false, 0
		}
		if !cut && len(bytes.TrimSpace(l)) > 0 {
			last = l
			break
		}
	}
	cache := newLabelCache()
	a, p1 := parseJSONLine(bytes.TrimSpace(first), cache)
	b, p2 := parseJSONLine(last, cache)
	if p1 != "" || p2 != "" || !a.Time.After(b.Time) {
		return false, 0
	}
	lines, err = countLines(f, size)
	if err != nil {
		return false, 0
	}
	return true, lines
}

func countLines(f *os.File, size int64) (int, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), readBufferSize)
	n := 0
	buf := make([]byte, readBufferSize)
	last := byte('\n')
	for {
		k, err := br.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}
