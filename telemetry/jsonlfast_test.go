package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fastMatchesStdlib checks the fast decoder against encoding/json: when the
// fast path accepts a line, it must read exactly what encoding/json reads.
func fastMatchesStdlib(t *testing.T, in string) {
	tok, ok := fastJSONLine([]byte(in), nil, nil)
	// logcli's own shape, read with its label object known (a valid one,
	// as the cache holds), must accept only what the general path accepts
	// with the same cache, and read the same tokens.
	if rest, found := bytes.CutPrefix([]byte(in), []byte(shapeLabels)); found {
		if j := bytes.IndexByte(rest, '}'); j >= 0 {
			if end, valid := flatObject(rest[:j+1], 0); valid && end == j+1 {
				known := newLabelCache()
				known.put(string(rest[:j+1]), map[string]string{"known": "yes"})
				g, gok := generalJSONLine([]byte(in), known)
				s, send, sok := logcliShape([]byte(in), known, nil)
				sok = sok && send == len(in)
				// With a minute cache, the time read on the way changes
				// nothing it accepts, and is the time parseTimestamp reads.
				var mc minuteCache
				if st, stend, stok := logcliShape([]byte(in), known, &mc); (stok && stend == len(in)) != sok {
					t.Fatalf("%q: logcli shape with a minute cache ok=%v, without %v", in, stok, sok)
				} else if stok && st.timed {
					if want, wok := parseTimestamp(st.ts); !wok || !want.Equal(st.time) {
						t.Fatalf("%q: logcli shape read the time %v, parseTimestamp %v %v", in, st.time, want, wok)
					}
				}
				if sok {
					if !gok {
						t.Fatalf("logcli shape accepted %q, the general path refused it", in)
					}
					if string(s.labels) != string(g.labels) || string(s.line) != string(g.line) || string(s.ts) != string(g.ts) ||
						s.esc != g.esc || s.nonASCII != g.nonASCII || s.known["known"] != "yes" {
						t.Fatalf("%q: logcli shape read %+v, the general path %+v", in, s, g)
					}
				}
			}
		}
	}
	if !ok {
		return
	}
	labels, lineTok, ts := tok.labels, tok.line, tok.ts
	if content := lineTok[1 : len(lineTok)-1]; (tok.esc != 0) != bytes.Contains(content, []byte{'\\'}) ||
		tok.nonASCII != bytes.ContainsFunc(content, func(r rune) bool { return r >= utf8.RuneSelf }) {
		t.Fatalf("%q: escapes=%b nonASCII=%v", in, tok.esc, tok.nonASCII)
	}
	line, _, ok := decodeString(lineTok, 0)
	if !ok {
		t.Fatalf("line token %q of %q passed the check but does not decode", lineTok, in)
	}
	var e jsonlEntry
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refused it: %v", in, err)
	}
	if e.Line == nil || *e.Line != line {
		t.Fatalf("line of %q: fast %q, encoding/json %v", in, line, e.Line)
	}
	if string(e.Timestamp) != string(ts) {
		t.Fatalf("timestamp of %q: fast %q, encoding/json %q", in, ts, e.Timestamp)
	}
	if len(e.Labels) > 0 && string(e.Labels) != string(labels) {
		t.Fatalf("labels of %q: fast %q, encoding/json %q", in, labels, e.Labels)
	}
	// Read again with the label object known, as the second entry of a
	// stream is: the same tokens, and the known labels handed back.
	known := newLabelCache()
	known.put(string(labels), map[string]string{"known": "yes"})
	tok2, ok := fastJSONLine([]byte(in), known, nil)
	labels2, m, lineTok2, ts2 := tok2.labels, tok2.known, tok2.line, tok2.ts
	if !ok || string(labels2) != string(labels) || string(lineTok2) != string(lineTok) || string(ts2) != string(ts) ||
		tok2.esc != tok.esc || tok2.nonASCII != tok.nonASCII {
		t.Fatalf("%q read with its labels known: ok=%v labels %q line %q ts %q", in, ok, labels2, lineTok2, ts2)
	}
	if len(labels) > 0 && labels[0] == '{' && bytes.IndexByte(labels, '}') == len(labels)-1 && m["known"] != "yes" {
		t.Fatalf("%q: known labels %q not handed back", in, labels)
	}
}

var fastCases = []struct {
	in string
	ok bool
}{
	{`{"labels":{"service":"checkout"},"line":"panic: boom","timestamp":"2026-11-20T10:42:01.123456789Z"}`, true},
	{`{"labels":{"service":"checkout"},"line":"a \"quoted\" caf\u00e9\n","timestamp":"2026-11-20T10:42:01Z"}`, true},
	{`{"labels":{"service":"checkout"},"line":"x","timestamp":"2026-11-20T10:42:01Z"} `, true},
	{`{"labels":{"service":"checkout"},"line":"x","timestamp":"2026-11-20\u0054"}`, true},
	{`{"labels":{"service":"checkout"},"line":"x","timestamp":"2026-11-20T10:42:01Z"}x`, false},
	{`{"labels":{"service":"checkout"},"line":"x","timestamp":"2026-11-20T10:42:01Z""}`, false},
	{`{"line":"x","timestamp":"1732099321000000000","labels":{"a":"b","c":"d"}}`, true},
	{` { "labels" : { "a" : "b\"}" } , "line" : "tab\there \u00e9 \ud83d\ude00 \/" , "timestamp" : 1732099321000000000 } `, true},
	{`{"labels":null,"line":"","timestamp":"x"}`, true},
	{"{\"labels\":{},\"line\":\"bad \xff utf8\",\"timestamp\":\"t\"}", true},
	{`{"line":"""timestamp":""}`, false},
	{`{"line":"x",,"timestamp":"t"}`, false},
	{`{"labels":{},"line":"lone \ud800 surrogate","timestamp":"t"}`, true},
	{`{"labels":{"a":{"b":"c"}},"line":"x","timestamp":"t"}`, false}, // nested: fallback
	{`{"labels":{},"line":"x","timestamp":"t","extra":1}`, false},
	{`{"labels":{},"line":"x"}`, false},
	{`{"labels":{},"line":"x","timestamp":"t"} trailing`, false},
	{`{"labels":{},"line":"unterminated,"timestamp":"t"}`, false},
	{`not json`, false},
}

func TestFastJSONLine(t *testing.T) {
	for _, c := range fastCases {
		_, ok := fastJSONLine([]byte(c.in), nil, nil)
		if ok != c.ok {
			t.Errorf("fastJSONLine(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
		fastMatchesStdlib(t, c.in)
	}
}

func FuzzFastJSONLine(f *testing.F) {
	for _, c := range fastCases {
		f.Add(c.in)
	}
	f.Fuzz(fastMatchesStdlib)
}

// rfc3339MatchesTimeParse checks the fast timestamp reader against
// time.Parse: when it accepts, it must give the same instant.
func rfc3339MatchesTimeParse(t *testing.T, s string) {
	got, ok := rfc3339([]byte(s))
	// A minute cache filled by this string, or by another one of the same
	// minute, changes nothing.
	var c minuteCache
	for _, warm := range []string{s, s[:min(len(s), 16)] + ":07.25Z", s} {
		c.rfc3339([]byte(warm))
		if cached, cok := c.rfc3339([]byte(s)); cok != ok || cached != got {
			t.Fatalf("rfc3339(%q) with a cache warmed by %q = %v, %v; without = %v, %v", s, warm, cached, cok, got, ok)
		}
	}
	if !ok {
		return
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("rfc3339(%q) accepted what time.Parse refuses: %v", s, err)
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("rfc3339(%q) = %v, time.Parse = %v", s, got, want)
	}
}

var rfc3339Cases = []struct {
	in string
	ok bool
}{
	{"2026-11-20T10:42:01.123456789Z", true},
	{"2026-11-20T10:42:01Z", true},
	{"2026-11-20T10:42:01.5+02:00", true},
	{"2026-11-20T10:42:59.999-00:00", true},
	{"2026-11-20T10:42:5xZ", false},
	{"2026-11-20T10:42:01.000000001-07:30", true},
	{"2024-02-29T23:59:59Z", true},
	{"2026-02-29T10:00:00Z", false},  // not a leap year
	{"2026-11-20T24:00:00Z", false},  // hour out of range
	{"2026-11-20T10:42:60Z", false},  // leap second: time.Parse decides
	{"2026-11-20T10:42:01.Z", false}, // empty fraction
	{"2026-11-20T10:42:01.1234567890Z", false},
	{"2026-11-20 10:42:01Z", false},
	{"2026-11-20T10:42:01", false},
	{"2026-11-20T10:42:01+0200", false},
	{"1732099321000000000", false},
}

func TestRFC3339(t *testing.T) {
	for _, c := range rfc3339Cases {
		if _, ok := rfc3339([]byte(c.in)); ok != c.ok {
			t.Errorf("rfc3339(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
		rfc3339MatchesTimeParse(t, c.in)
	}
}

func FuzzRFC3339(f *testing.F) {
	for _, c := range rfc3339Cases {
		f.Add(c.in)
	}
	f.Fuzz(rfc3339MatchesTimeParse)
}

// unescapedMatchesDecode checks the decoder for checked ASCII strings
// against the general one, on every string scanString accepts as ASCII.
func unescapedMatchesDecode(t *testing.T, content string) {
	tok := []byte(`"` + content + `"`)
	end, _, nonASCII, ok := scanString(tok, 0)
	if !ok || end != len(tok) || nonASCII {
		return
	}
	want, _, _ := appendDecoded(nil, tok, 0)
	if got := appendUnescaped(nil, tok[1:len(tok)-1]); string(got) != string(want) {
		t.Fatalf("appendUnescaped(%q) = %q, appendDecoded = %q", content, got, want)
	}
}

var unescapedCases = []string{
	``, `plain`, `a \"quoted\" word`, `\\`, `ends with \\\\`, `\n\t\r\b\f\/`,
	`\u00e9t\u00e9`, `\ud83d\ude00 pair`, `\ud83d lone`, `\ude00 low`, `\u0000`,
	`{\"msg\":\"x\",\"stack\":\"a\\nb\"}`,
}

func TestAppendUnescaped(t *testing.T) {
	for _, c := range unescapedCases {
		unescapedMatchesDecode(t, c)
	}
	// Each escape, and runs of escaped backslashes, at every offset around
	// the first two 64-byte windows, so that escapes straddle them.
	for _, e := range []string{`\"`, `\\`, `\\\\`, `\\\"`, `\n`, `\u00e9`, `\ud83d\ude00`, `\/\/\/`} {
		for n := 0; n < 140; n++ {
			unescapedMatchesDecode(t, strings.Repeat("a", n)+e)
			unescapedMatchesDecode(t, strings.Repeat("a", n)+e+strings.Repeat("b", 70)+e+"c")
		}
	}
	if got := string(appendUnescaped(nil, []byte(`a\"b\\c\nd\u00e9`))); got != "a\"b\\c\nd\u00e9" {
		t.Fatalf("appendUnescaped = %q", got)
	}
}

func FuzzAppendUnescaped(f *testing.F) {
	for _, c := range unescapedCases {
		f.Add(c)
	}
	f.Fuzz(unescapedMatchesDecode)
}

// TestLabelCache checks that every label object put is found with its own
// labels, also when objects share a slot of the front, and that the cache
// starts over past maxLabelCache.
func TestLabelCache(t *testing.T) {
	c := newLabelCache()
	raw := func(i int) string { return fmt.Sprintf(`{"service":"svc","pod":"pod-%d"}`, i) }
	n := 3 * labelFront // many objects share a slot
	for i := range n {
		if _, ok := c.get([]byte(raw(i))); ok {
			t.Fatalf("object %d found before it was put", i)
		}
		c.put(raw(i), map[string]string{"i": fmt.Sprint(i)})
	}
	for i := range n {
		m, ok := c.get([]byte(raw(i)))
		if !ok || m["i"] != fmt.Sprint(i) {
			t.Fatalf("get(object %d) = %v, %v", i, m, ok)
		}
	}
	for i := n; i <= maxLabelCache; i++ {
		c.put(raw(i), map[string]string{"i": fmt.Sprint(i)})
	}
	if _, ok := c.get([]byte(raw(0))); ok {
		t.Fatal("the cache did not start over past maxLabelCache")
	}
	if m, ok := c.get([]byte(raw(maxLabelCache))); !ok || m["i"] != fmt.Sprint(maxLabelCache) {
		t.Fatalf("the object put last is lost: %v, %v", m, ok)
	}
}

// TestLogcliShape checks that logcli's own lines take the shape path once
// their label object is known, and that other shapes fall through.
func TestLogcliShape(t *testing.T) {
	known := newLabelCache()
	known.put(`{"service":"checkout"}`, map[string]string{"service": "checkout"})
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"labels":{"service":"checkout"},"line":"a \"b\"","timestamp":"2026-11-20T10:42:01.5Z"}`, true},
		{`{"labels":{"service":"cart"},"line":"x","timestamp":"2026-11-20T10:42:01.5Z"}`, false}, // labels not known yet
		{`{"labels": {"service":"checkout"},"line":"x","timestamp":"2026-11-20T10:42:01.5Z"}`, false},
		{`{"labels":{"service":"checkout"},"timestamp":"2026-11-20T10:42:01.5Z","line":"x"}`, false},
		{`{"labels":{"service":"checkout"},"line":"x","timestamp":"1732099321000000000"}`, true},
	} {
		if _, end, ok := logcliShape([]byte(c.in), known, nil); (ok && end == len(c.in)) != c.ok {
			t.Errorf("logcliShape(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
		fastMatchesStdlib(t, c.in)
	}
}

// scanStringReference is scanString one byte at a time, as JSON's grammar
// states it.
func scanStringReference(b []byte, i int) (int, escapes, bool, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, false
	}
	var esc escapes
	nonASCII := false
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, esc, nonASCII, true
		case c < 0x20:
			return 0, 0, false, false
		case c >= 0x80:
			nonASCII = true
		case c == '\\':
			if j+1 >= len(b) {
				return 0, 0, false, false
			}
			j++
			esc |= escAny
			switch b[j] {
			case '"', '/', 'b', 'f', 'r', 't':
			case '\\':
				esc |= escBackslash
			case 'n':
				esc |= escNewline
			case 'u':
				if j+4 >= len(b) {
					return 0, 0, false, false
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, 0, false, false
					}
				}
				esc |= escUnicode
				j += 4
			default:
				return 0, 0, false, false
			}
		}
	}
	return 0, 0, false, false
}

var scanCases = []string{
	`""`, `"plain ascii text that runs past eight bytes"`, `"\"\"\"\"\"\"\"\"\"\""`, `"\\\\\\\\\\\\\\\\"`,
	`"{\"time\":\"2026-11-20T10:42:01Z\",\"msg\":\"a\\nb\"}" trailing`, `"caf` + "\xc3\xa9" + ` \u00e9 \ud83d\ude00"`,
	`"1234567\"89"`, `"1234567\\"`, `"123456\u0041xyz"`, `"1234567` + "\x01" + `"`, `"12345678\q"`, `"unterminated \"`,
	`"1234567\u00"`, `"ends with a backslash\`, `"bad utf8 ` + "\xff" + ` here"`, `"12345678901234\n"`,
	`"0123456789abcdef0123456789abcdef\"0123456789abcdef\\0123456789abc` + "\xc3\xa9" + `def"`,
	`"0123456789abcdef0123456789abc` + "\x7f\x1f" + `"`, `"0123456789abcdef012345678` + "\xe2\x82\xac" + `"`,
}

func checkScanString(t *testing.T, s string) {
	b := []byte(s)
	e1, x1, n1, o1 := scanString(b, 0)
	e2, x2, n2, o2 := scanStringReference(b, 0)
	if e1 != e2 || x1 != x2 || n1 != n2 || o1 != o2 {
		t.Fatalf("scanString(%q) = %d %b %v %v, reference %d %b %v %v", s, e1, x1, n1, o1, e2, x2, n2, o2)
	}
}

func TestScanString(t *testing.T) {
	for _, c := range scanCases {
		checkScanString(t, c)
		for cut := range len(c) { // every prefix: words end everywhere
			checkScanString(t, c[:cut])
		}
	}
}

func FuzzScanString(f *testing.F) {
	for _, c := range scanCases {
		f.Add(c)
	}
	f.Fuzz(checkScanString)
}

func checkBlockMasks(t *testing.T, p *[64]byte) {
	t.Helper()
	var q0, b0, c0, h0 uint64
	for i, c := range p {
		bit := uint64(1) << i
		if c == '"' {
			q0 |= bit
		}
		if c == '\\' {
			b0 |= bit
		}
		if c < 0x20 {
			c0 |= bit
		}
		if c >= 0x80 {
			h0 |= bit
		}
	}
	if q, b, c, h := blockMasks(p); q != q0 || b != b0 || c != c0 || h != h0 {
		t.Fatalf("blockMasks(%q) = %x %x %x %x, want %x %x %x %x", p, q, b, c, h, q0, b0, c0, h0)
	}
	if q, b, c, h := blockMasksGeneric(p); q != q0 || b != b0 || c != c0 || h != h0 {
		t.Fatalf("blockMasksGeneric(%q) = %x %x %x %x, want %x %x %x %x", p, q, b, c, h, q0, b0, c0, h0)
	}
	for name, f := range archBlockMasks() {
		if q, b, c, h := f(p); q != q0 || b != b0 || c != c0 || h != h0 {
			t.Fatalf("blockMasks %s(%q) = %x %x %x %x, want %x %x %x %x", name, p, q, b, c, h, q0, b0, c0, h0)
		}
	}
}

// TestBlockMasks puts every byte value at every position of a block, over
// two backgrounds, and pairs of them.
func TestBlockMasks(t *testing.T) {
	for _, bg := range []byte{'x', 0xff, 0x00, '"'} {
		var p [64]byte
		for i := range p {
			p[i] = bg
		}
		checkBlockMasks(t, &p)
		for pos := range 64 {
			for c := range 256 {
				q := p
				q[pos] = byte(c)
				q[(pos*7+c)%64] = byte(c ^ 0xa5)
				checkBlockMasks(t, &q)
			}
		}
	}
}

func FuzzBlockMasks(f *testing.F) {
	f.Add([]byte(`plain text \"quoted\" and \\ and \n then` + "\xc3\xa9\x01" + ` \u00e9 more "`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p [64]byte
		copy(p[:], b)
		checkBlockMasks(t, &p)
	})
}

// TestScanStringEscapeRuns puts runs of one to five backslashes, followed
// by each kind of character, at every offset of strings long enough to
// cross two block boundaries: the run's parity decides whether the quote
// after it ends the string, also when the run straddles blocks.
func TestScanStringEscapeRuns(t *testing.T) {
	after := []string{`"`, `n`, `u00e9`, `u00g9`, `q`, "\x01", "\xc3\xa9", `x`, `/`}
	for n := 0; n < 140; n++ {
		for run := 1; run <= 5; run++ {
			for _, a := range after {
				body := strings.Repeat("y", n) + strings.Repeat(`\\`, run) + a
				checkScanString(t, `"`+body+`" tail`)
				checkScanString(t, `"`+body+`"`)
				checkScanString(t, `"`+body)
				checkScanString(t, `"`+body+strings.Repeat("z", 70)+`"`)
			}
		}
	}
}
