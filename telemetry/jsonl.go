package telemetry

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// jsonlEntry is one line of `logcli query --output jsonl`.
type jsonlEntry struct {
	Labels    json.RawMessage `json:"labels"`
	Line      *string         `json:"line"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// maxLabelCache bounds the per-read cache of normalised label sets; a file
// with more distinct streams than this just normalises more often.
const maxLabelCache = 4096

// readJSONL delivers logcli jsonl lines. Identical label objects share one
// normalised map, which keeps a large file's allocations per line low.
func (r *reader) readJSONL(lr lineSource) error {
	cache := newLabelCache()
	var where []byte
	for {
		raw, truncated, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		where = strconv.AppendInt(append(append(where[:0], r.origin...), ':'), int64(lr.lineNo()), 10)
		if truncated {
			// The JSON is cut, so the entry cannot be read.
			r.truncated(string(where))
			r.malformed(string(where), "entry unreadable after truncation")
			continue
		}
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		ev, problem := parseJSONLine(raw, cache)
		if problem != "" {
			r.malformed(string(where), "%s", problem)
			continue
		}
		ev.Origin = string(where)
		if err := r.deliver(ev); err != nil {
			return err
		}
	}
}

func parseJSONLine(raw []byte, cache *labelCache) (incident.Event, string) {
	var line string
	var labelsRaw, tsRaw []byte
	if t, ok := fastJSONLine(raw, cache, nil); ok {
		labelsRaw, tsRaw = t.labels, t.ts
		line, _, _ = decodeString(t.line, 0)
	} else {
		var e jsonlEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			if isBinary(raw) {
				return incident.Event{}, "binary data"
			}
			return incident.Event{}, "invalid JSON: " + err.Error()
		}
		if e.Line == nil {
			return incident.Event{}, `no "line" field`
		}
		if len(e.Timestamp) == 0 {
			return incident.Event{}, `no "timestamp" field`
		}
		labelsRaw, line, tsRaw = e.Labels, *e.Line, e.Timestamp
	}
	ts, ok := parseTimestamp(tsRaw)
	if !ok {
		return incident.Event{}, fmt.Sprintf("bad timestamp %.40s", tsRaw)
	}
	labels, ok := cachedLabels(cache, labelsRaw)
	if !ok {
		return incident.Event{}, "labels are not an object of strings"
	}
	line, _ = truncateString(line)
	return incident.Event{Time: ts, Labels: labels, Line: line}, ""
}

// labelCache holds the normalised label sets of one read by their raw
// JSON object, so that every entry of a stream shares one map. A hashed
// front of recently found objects comes before the map: looking the object
// up was a tenth of reading a large file.
type labelCache struct {
	byRaw map[string]map[string]string
	front [labelFront]labelSlot
	// shared, when set, is the caches' common source of label sets: the
	// workers reading one file then hand out one map per stream, not one
	// per worker, and the consumer's per-stream memos hold half the
	// entries.
	shared *sharedLabels
}

// sharedLabels is the label sets of one read, for every worker's cache.
// It is asked only when a worker's own cache misses: once per stream.
type sharedLabels struct {
	mu    sync.Mutex
	byRaw map[string]map[string]string
}

const labelFront = 1024

type labelSlot struct {
	raw    string
	labels map[string]string
}

var labelSeed = maphash.MakeSeed()

func newLabelCache() *labelCache {
	return &labelCache{byRaw: map[string]map[string]string{}}
}

// get returns the labels of a label object already seen.
func (c *labelCache) get(raw []byte) (map[string]string, bool) {
	f := &c.front[maphash.Bytes(labelSeed, raw)%labelFront]
	if f.labels != nil && f.raw == string(raw) {
		return f.labels, true
	}
	labels, ok := c.byRaw[string(raw)] // its slot went to another object first
	return labels, ok
}

// put remembers labels for the label object raw.
func (c *labelCache) put(raw string, labels map[string]string) {
	if len(c.byRaw) >= maxLabelCache {
		clear(c.byRaw)
		clear(c.front[:])
	}
	c.byRaw[raw] = labels
	if f := &c.front[maphash.String(labelSeed, raw)%labelFront]; f.labels == nil {
		*f = labelSlot{raw, labels}
	}
}

// cachedLabels returns the normalised labels of a raw label object, shared
// by every entry with the same bytes.
func cachedLabels(cache *labelCache, raw []byte) (map[string]string, bool) {
	if labels, ok := cache.get(raw); ok {
		return labels, true
	}
	if sh := cache.shared; sh != nil {
		sh.mu.Lock()
		labels, ok := sh.byRaw[string(raw)]
		sh.mu.Unlock()
		if ok {
			cache.put(string(raw), labels)
			return labels, true
		}
	}
	var l map[string]string
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, false
		}
	}
	labels := NormalizeLabels(l)
	if sh := cache.shared; sh != nil {
		sh.mu.Lock()
		if known, ok := sh.byRaw[string(raw)]; ok { // another worker was first
			labels = known
		} else {
			if len(sh.byRaw) >= maxLabelCache {
				clear(sh.byRaw)
			}
			sh.byRaw[string(raw)] = labels
		}
		sh.mu.Unlock()
	}
	cache.put(string(raw), labels)
	return labels, true
}

// parseTimestamp accepts an RFC3339 string (logcli's form), a unix
// nanosecond string (Loki's API form) or a bare nanosecond number.
func parseTimestamp(raw json.RawMessage) (time.Time, bool) {
	return (*minuteCache)(nil).parseTimestamp(raw)
}

// parseTimestamp is the package's parseTimestamp using and filling c,
// which may be nil.
func (c *minuteCache) parseTimestamp(raw []byte) (time.Time, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		b := raw[1 : len(raw)-1]
		if t, ok := c.rfc3339(b); ok {
			return t, true
		}
		s := string(b)
		if t, ok := unixNano(s); ok {
			return t, true
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err == nil
	}
	return unixNano(string(raw))
}

// rfc3339 reads the one layout logcli writes, 2006-01-02T15:04:05.999999999
// followed by Z or an offset, when every field is plainly in range; for
// anything else it returns false and time.Parse decides. It is as exact as
// time.Parse, only without its generality: every entry's time is read.
func rfc3339(b []byte) (time.Time, bool) {
	return (*minuteCache)(nil).rfc3339(b)
}

// minuteCache remembers the last minute rfc3339 read ("2006-01-02T15:04"
// and its Unix time): the entries of a log file come minutes apart at
// most, and working out the date was half the cost of reading a time.
type minuteCache struct {
	key  [16]byte
	unix int64
	ok   bool
}

// rfc3339 is the package's rfc3339 using and filling c, which may be nil.
func (c *minuteCache) rfc3339(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	sec, ok := num(b[17:19])
	if !ok || sec > 59 {
		return time.Time{}, false
	}
	var minute int64
	if c != nil && c.ok && string(c.key[:]) == string(b[:16]) {
		minute = c.unix
	} else {
		year, ok1 := num(b[0:4])
		month, ok2 := num(b[5:7])
		day, ok3 := num(b[8:10])
		hour, ok4 := num(b[11:13])
		min, ok5 := num(b[14:16])
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 || day > 28 && day > daysIn(month, year) ||
			hour > 23 || min > 59 {
			return time.Time{}, false
		}
		minute = time.Date(year, time.Month(month), day, hour, min, 0, 0, time.UTC).Unix()
		if c != nil {
			copy(c.key[:], b[:16])
			c.unix, c.ok = minute, true
		}
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		j := i + 1
		for j < len(b) && j-i <= 10 && b[j] >= '0' && b[j] <= '9' {
			nsec = nsec*10 + int(b[j]-'0')
			j++
		}
		digits := j - i - 1
		if digits < 1 || digits > 9 || j < len(b) && b[j] >= '0' && b[j] <= '9' {
			return time.Time{}, false
		}
		nsec *= pow10[9-digits]
		i = j
	}
	var offset int
	switch rest := b[i:]; {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	return time.Unix(minute+int64(sec)-int64(offset), int64(nsec)).UTC(), true
}

// pow10 scales a fraction of n digits to nanoseconds: pow10[9-n].
var pow10 = [...]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
