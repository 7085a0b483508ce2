package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// maxEdgeEntries bounds the entries a file set remembers to drop their
// repeats from the next file: a page edge holds the entries of one
// nanosecond, files that overlap more are not pages of one query.
const maxEdgeEntries = 4096

// fileSet reads several log files as one source; see NewFileSet.
type fileSet struct {
	files []*fileSource
}

// NewFileSet returns a Source reading the files at paths (each as
// NewFileSource reads one) as the parts of one log: in the order of their
// oldest entries, not the order given, and without the entries a file
// repeats from the one before at their common edge.
//
// That is what a query saved page by page is: `logcli` and scripts page a
// query_range backward by default, so the first page saved is the newest,
// and each next request ends 1ns after the oldest entry it has, so the
// entries of that nanosecond come again. Read in the order given, a trace
// that a page edge cut would reach the reassembler tail first, and the
// repeated entries would be counted twice.
//
// A file whose oldest entry cannot be found cheaply (plain text, gzip
// compressed jsonl) keeps the files in the order given. Entries a Gate
// took without building (the middle of a trace in a jsonl file) are not
// checked for repeats.
func NewFileSet(paths []string, defaults map[string]string) Source {
	s := &fileSet{}
	for _, p := range paths {
		s.files = append(s.files, NewFileSource(p, defaults).(*fileSource))
	}
	if len(s.files) == 1 {
		return s.files[0]
	}
	return s
}

func (s *fileSet) Name() string {
	names := make([]string, len(s.files))
	for i, f := range s.files {
		names[i] = f.path
	}
	return "file:" + strings.Join(names, ",")
}

// Fetch reads the files oldest first; a file that cannot be read is
// reported in the error and the others are read.
func (s *fileSet) Fetch(ctx context.Context, q Query, fn func(incident.Event) error) (Stats, error) {
	var total Stats
	files, starts := s.ordered()
	var edge map[entryID]bool // entries read before at or after this file's start
	var edgeFrom time.Time
	var errs []error
	for k, f := range files {
		var next time.Time // the start of the next file: its entries up to here may repeat
		if k+1 < len(files) {
			next = starts[k+1]
		}
		kept := map[entryID]bool{}
		var fnErr error
		st, err := f.Fetch(ctx, q, func(e incident.Event) error {
			if len(edge) > 0 && !e.Time.Before(edgeFrom) {
				id := entryID{incident.LabelsKey(e.Labels), e.Time.UnixNano(), e.Line}
				if edge[id] {
					return nil
				}
			}
			if !next.IsZero() && !e.Time.Before(next) && len(kept) < maxEdgeEntries {
				kept[entryID{incident.LabelsKey(e.Labels), e.Time.UnixNano(), e.Line}] = true
			}
			fnErr = fn(e)
			return fnErr
		})
		total.Add(st)
		if err != nil {
			if fnErr != nil || ctx.Err() != nil {
				return total, err
			}
			errs = append(errs, err)
		}
		for id := range edge { // still at or after the next file's start
			if id.ts >= next.UnixNano() && !next.IsZero() && len(kept) < maxEdgeEntries {
				kept[id] = true
			}
		}
		edge, edgeFrom = kept, next
	}
	return total, errors.Join(errs...)
}

// ordered returns the files sorted by their oldest entry, with those
// times, or as given (and zero times) when one of them has none to tell.
func (s *fileSet) ordered() ([]*fileSource, []time.Time) {
	files := append([]*fileSource(nil), s.files...)
	starts := make([]time.Time, len(files))
	for i, f := range files {
		t, ok := oldestEntry(f.path)
		if !ok {
			return s.files, make([]time.Time, len(files))
		}
		starts[i] = t
	}
	idx := make([]int, len(files))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return starts[idx[a]].Before(starts[idx[b]]) })
	outF, outT := make([]*fileSource, len(files)), make([]time.Time, len(files))
	for i, j := range idx {
		outF[i], outT[i] = files[j], starts[j]
	}
	return outF, outT
}

// oldestEntry finds the time of a log file's oldest entry without reading
// its entries: in a query_range response, the least of the timestamps
// (every `["<digits>"` in the document is one: a quote inside a JSON
// string is escaped); in a logcli jsonl file, the earlier of its first and
// last entries. Other files have none to tell.
func oldestEntry(path string) (time.Time, bool) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		return time.Time{}, false
	}
	br, closeGz, compressed, err := decompress(f)
	if err != nil {
		return time.Time{}, false
	}
	defer closeGz()
	switch detectFormat(br) {
	case "query_range":
		return oldestValue(br)
	case "jsonl":
		if compressed {
			return time.Time{}, false
		}
		return jsonlEnds(f, info.Size())
	}
	return time.Time{}, false
}

// oldestValue scans a query_range document for its least timestamp.
func oldestValue(r io.Reader) (time.Time, bool) {
	var least time.Time
	found := false
	buf := make([]byte, readBufferSize+32)
	carry := 0
	for {
		n, err := io.ReadFull(r, buf[carry:])
		data := buf[:carry+n]
		end := len(data)
		if err == nil {
			end = len(data) - 24 // a timestamp may straddle the next read
		}
		i := 0
		for {
			j := bytes.Index(data[i:min(end+1, len(data))], []byte(`["`))
			if j < 0 {
				break
			}
			i += j + 2
			k := i
			for k < len(data) && k-i <= 19 && data[k] >= '0' && data[k] <= '9' {
				k++
			}
			if k < len(data) && data[k] == '"' && k > i {
				if t, ok := unixNano(string(data[i:k])); ok && (!found || t.Before(least)) {
					least, found = t, true
				}
			}
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return least, found
			}
			return time.Time{}, false
		}
		carry = copy(buf, data[end:])
	}
}

// jsonlEnds is the earlier time of a jsonl file's first and last entries.
func jsonlEnds(f *os.File, size int64) (time.Time, bool) {
	first, err := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), readBufferSize).ReadSlice('\n')
	if err != nil && err != io.EOF {
		return time.Time{}, false
	}
	rr := newReverseLineReader(f, size, 0)
	var last []byte
	for i := 0; i < 16; i++ {
		l, cut, err := rr.next()
		if err != nil {
			return time.Time{}, false
		}
		if !cut && len(bytes.TrimSpace(l)) > 0 {
			last = l
			break
		}
	}
	cache := newLabelCache()
	a, p1 := parseJSONLine(bytes.TrimSpace(first), cache)
	b, p2 := parseJSONLine(last, cache)
	if p1 != "" || p2 != "" {
		return time.Time{}, false
	}
	if b.Time.Before(a.Time) {
		return b.Time, true
	}
	return a.Time, true
}
