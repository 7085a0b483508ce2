package telemetry

import (
	"encoding/json"
	"testing"
)

// slowStreamEntry is UnmarshalJSON without its fast path.
func slowStreamEntry(b []byte) streamEntry {
	var e streamEntry
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) < 2 {
		return streamEntry{bad: "shape"}
	}
	var ts string
	if json.Unmarshal(parts[0], &ts) != nil {
		return streamEntry{bad: "ts"}
	}
	t, ok := unixNano(ts)
	if !ok {
		return streamEntry{bad: "ts"}
	}
	if json.Unmarshal(parts[1], &e.line) != nil {
		return streamEntry{bad: "line"}
	}
	e.ts = t
	e.line, e.cut = truncateString(e.line)
	return e
}

// fastEntryMatches: when the fast path reads a value, it reads what
// encoding/json reads.
func fastEntryMatches(t *testing.T, in string) {
	b := []byte(in)
	ts, line, ok := fastStreamEntry(b)
	if !ok {
		return
	}
	if !json.Valid(b) {
		return // the Decoder never hands UnmarshalJSON invalid JSON
	}
	want := slowStreamEntry(b)
	if want.bad != "" || !want.ts.Equal(ts) || want.line != line {
		t.Fatalf("%q: fast (%v, %q), encoding/json (%v, %q, bad %q)", in, ts, line, want.ts, want.line, want.bad)
	}
}

var entryCases = []struct {
	in string
	ok bool
}{
	{`["1732099321000000000","panic: boom"]`, true},
	{` [ "1" , "tab\there \u00e9 \ud83d\ude00 \"q\" \/" ] `, true},
	{`["1","x",{"trace_id":"ab"}]`, true}, // structured metadata, not read
	{`["1","x", {"structuredMetadata":{"detected_level":"error"},"parsed":{}} ]`, true},
	{`["1","x",{}]`, true},
	{`["1","x",{},"y"]`, false},
	{`["1","x","y"]`, false},
	{`["1\u0032","x"]`, false},
	{`["x","y"]`, false},
	{`[1,"x"]`, false},
	{`["1",2]`, false},
	{"[\"1\",\"bad \xff utf8\"]", true},
	{`["1","lone \ud800"]`, true},
	{`["99999999999999999999","x"]`, false},
}

func TestFastStreamEntry(t *testing.T) {
	for _, c := range entryCases {
		if _, _, ok := fastStreamEntry([]byte(c.in)); ok != c.ok {
			t.Errorf("fastStreamEntry(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
		fastEntryMatches(t, c.in)
	}
}

func FuzzFastStreamEntry(f *testing.F) {
	for _, c := range entryCases {
		f.Add(c.in)
	}
	f.Fuzz(fastEntryMatches)
}
