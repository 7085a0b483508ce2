package telemetry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TestBackwardJSONL: `logcli query` prints newest first by default. The file
// source must deliver such a file oldest first, so that the lines of a
// trace come back in the order the runtime wrote them.
func TestBackwardJSONL(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var lines []string
	for i := 0; i < 5000; i++ { // several reverse chunks
		line := fmt.Sprintf("entry %d", i)
		if i == 2500 {
			line = strings.Repeat("x", 200<<10) // a long line spanning chunks
		}
		lines = append(lines, fmt.Sprintf(`{"labels":{"service":"a"},"line":%q,"timestamp":%q}`,
			line, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)))
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	for name, text := range map[string]string{
		"final newline": strings.Join(lines, "\n") + "\n",
		"crlf":          strings.Join(lines, "\r\n") + "\r\n",
		"no newline":    strings.Join(lines, "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "backward.jsonl")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []incident.Event
			st, err := NewFileSource(path, nil).Fetch(context.Background(), Query{}, func(e incident.Event) error {
				got = append(got, e)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 5000 || st.Malformed != 0 {
				t.Fatalf("got %d events, %d malformed (%v)", len(got), st.Malformed, st.FirstProblems)
			}
			for i, e := range got {
				if !e.Time.Equal(t0.Add(time.Duration(i) * time.Millisecond)) {
					t.Fatalf("event %d at %v: not oldest first", i, e.Time)
				}
			}
			if got[1].Line != "entry 1" || len(got[2500].Line) != 200<<10 {
				t.Errorf("lines not read whole: %q, %d bytes", got[1].Line, len(got[2500].Line))
			}
			// Line numbers in origins still count from the top of the file.
			if want := fmt.Sprintf("%s:%d", path, 5000); got[0].Origin != want {
				t.Errorf("origin of the oldest entry = %s, want %s", got[0].Origin, want)
			}
		})
	}
}
