package telemetry

import (
	"encoding/json"
	"testing"
)

// fastMatchesStdlib checks the fast decoder against encoding/json: when the
// fast path accepts a line, it must read exactly what encoding/json reads.
func fastMatchesStdlib(t *testing.T, in string) {
	labels, line, ts, ok := fastJSONLine([]byte(in))
	if !ok {
		return
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
}

var fastCases = []struct {
	in string
	ok bool
}{
	{`{"labels":{"service":"checkout"},"line":"panic: boom","timestamp":"2026-11-20T10:42:01.123456789Z"}`, true},
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
		_, _, _, ok := fastJSONLine([]byte(c.in))
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
