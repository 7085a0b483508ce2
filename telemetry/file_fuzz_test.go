package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/incident"
)

// FuzzFileSource checks that no input makes the file source panic, fail
// (a readable file is never an error) or deliver an invalid event.
func FuzzFileSource(f *testing.F) {
	for _, name := range []string{"logs.jsonl", "query_range.json", "stderr.txt", "deploys.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","a"]]}]}}`))
	f.Add([]byte(`{"status":"error","error":"boom"}`))
	f.Add([]byte(`{"data":{"resultType":"matrix","result":[]}}`))
	f.Add([]byte("{\"line\":\"x\",\"timestamp\":\"99999999999999999999\"}\n\x1f\x8b"))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0})
	f.Add([]byte("2026-11-20T10:42:01Z\n\r\n\x00"))
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		p := filepath.Join(dir, fmt.Sprintf("in%d", n))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		count := 0
		st, err := NewFileSource(p, map[string]string{"service": "s"}).Fetch(context.Background(), Query{},
			func(e incident.Event) error {
				count++
				if !utf8.ValidString(e.Line) || len(e.Line) > MaxLineBytes {
					t.Errorf("invalid line %.80q", e.Line)
				}
				if e.Time.IsZero() || e.Labels == nil || e.Origin == "" {
					t.Errorf("incomplete event %+v", e)
				}
				return nil
			})
		// Broken gzip and broken query_range documents are errors (the
		// file cannot be read to its end); everything else is not.
		if err != nil && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && st.Format != "query_range" {
			t.Errorf("format %s: unexpected error %v", st.Format, err)
		}
		if count != st.Entries {
			t.Errorf("delivered %d, Stats.Entries %d", count, st.Entries)
		}
		if len(st.FirstProblems) > maxProblems {
			t.Errorf("%d problems kept", len(st.FirstProblems))
		}
	})
}

// TestLongLineKeptWhole: lines beyond bufio's buffer and Scanner's 64K
// limit, but under MaxLineBytes, arrive intact.
func TestLongLineKeptWhole(t *testing.T) {
	long := strings.Repeat("é", 300_000) // 600 KB
	p := copyTo(t, "", "long.txt", []byte("a\n"+long+"\nb"))
	got, st, err := collect(t, NewFileSource(p, nil), Query{})
	if err != nil || len(got) != 3 || got[1].Line != long || st.Truncated != 0 {
		t.Fatalf("err=%v events=%d truncated=%d", err, len(got), st.Truncated)
	}
}

// BenchmarkFileSourceJSONL reads a 50 MB logcli jsonl file; MB/s is the
// ingestion rate of `faultline check --logs`.
func BenchmarkFileSourceJSONL(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.jsonl")
	var buf bytes.Buffer
	for i := 0; buf.Len() < 50<<20; i++ {
		fmt.Fprintf(&buf, `{"labels":{"service_name":"checkout","env":"prod","version":"v1.4.0","pod":"checkout-%d"},"line":"level=error msg=\"request failed\" path=/cart/%d err=\"index out of range [3] with length 3\"","timestamp":"2026-11-20T10:42:%02d.%09dZ"}`+"\n",
			i%8, i, i/1_000_000%60, i%1_000_000_000)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	src := NewFileSource(p, nil)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := src.Fetch(context.Background(), Query{}, func(incident.Event) error { return nil })
		if err != nil || st.Malformed != 0 {
			b.Fatal(err, st)
		}
	}
}
