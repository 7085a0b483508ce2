package telemetry

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// leveled is a Go panic as Loki 3 stores it: every entry carries the level
// Loki guessed from its line as structured metadata, and the guesses differ
// within the trace.
func leveled() []push.Entry {
	lines := []struct{ line, level string }{
		{"panic: runtime error: index out of range [1] with length 1", "error"},
		{"", "unknown"},
		{"goroutine 1 [running]:", "unknown"},
		{"main.total(...)", "unknown"},
		{"\t/app/main.go:9 +0x1d", "unknown"},
		{"main.main()", "info"}, // as a guess on a word may go
		{"\t/app/main.go:14 +0x2a", "unknown"},
	}
	var out []push.Entry
	for i, l := range lines {
		out = append(out, push.Entry{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), Line: l.line,
			StructuredMetadata: push.LabelsAdapter{{Name: "detected_level", Value: l.level}}})
	}
	return out
}

func linesOf(t *testing.T, src Source) []string {
	t.Helper()
	got, _, err := collect(t, src, Query{Start: t0, End: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	stream := ""
	for i, e := range got {
		if i == 0 {
			stream = e.StreamKey()
		} else if e.StreamKey() != stream {
			t.Errorf("entry %d in stream %s, entry 0 in %s", i, e.StreamKey(), stream)
		}
		out = append(out, e.Line)
	}
	return out
}

// TestLokiCategorizedLabels reads a trace from Loki 3 whose entries carry
// structured metadata: the client asks for categorized labels, so the
// trace's entries come as one stream, in order, whatever the page size.
func TestLokiCategorizedLabels(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	entries := leveled()
	pushLoki(t, srv, map[string]string{"service": "checkout"}, entries...)
	var want []string
	for _, e := range entries {
		want = append(want, e.Line)
	}
	for _, limit := range []int{2, 100} {
		l, _ := testLoki(t, srv, LokiConfig{PageLimit: limit})
		if got := linesOf(t, l); !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: got %q, want %q", limit, got, want)
		}
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("X-Loki-Response-Encoding-Flags") != "categorize-labels" {
			t.Errorf("request %v did not ask for categorized labels", r.Query)
		}
	}
}

// TestQueryRangeSplitByLevel reads a response saved without categorized
// labels (curl, a script): Loki 3 lists each level's entries as a stream
// of its own, and they must come back as one stream, in time order.
func TestQueryRangeSplitByLevel(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	entries := leveled()
	pushLoki(t, srv, map[string]string{"service": "checkout", "env": "prod"}, entries...)
	resp, err := http.Get(srv.URL + `/loki/api/v1/query_range?query={service="checkout"}&direction=backward&limit=100` +
		"&start=" + t0.Add(-time.Second).Format(time.RFC3339Nano) + "&end=" + t0.Add(time.Second).Format(time.RFC3339Nano))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var shape struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &shape); err != nil || len(shape.Data.Result) != 3 {
		t.Fatalf("want the response split in 3 streams by level, got %d (%v): %s", len(shape.Data.Result), err, body)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.Line)
	}
	got := linesOf(t, NewFileSource(copyTo(t, "", "qr.json", body), nil))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestLokiServerEntriesLimit reads a Loki whose max_entries_limit_per_query
// is below the client's page limit: it refuses the first query with a 400
// naming its maximum, and the client pages by that maximum, losing and
// repeating nothing.
func TestLokiServerEntriesLimit(t *testing.T) {
	srv := lokitest.New()
	defer srv.Close()
	srv.MaxEntriesLimit = 3
	entries := leveled()
	pushLoki(t, srv, map[string]string{"service": "checkout"}, entries...)
	l, _ := testLoki(t, srv, LokiConfig{})
	var want []string
	for _, e := range entries {
		want = append(want, e.Line)
	}
	if got := linesOf(t, l); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	reqs := srv.Requests()
	if len(reqs) < 4 || reqs[0].Query["limit"] != "5000" || reqs[1].Query["limit"] != "3" {
		t.Errorf("requests %v: want one refused at 5000, then pages of 3", reqs)
	}

	// More entries in one nanosecond than the server returns at once:
	// an error that says so, not an endless loop.
	var same []push.Entry
	for i := 0; i < 5; i++ {
		same = append(same, push.Entry{Timestamp: t0.Add(time.Hour), Line: string(rune('a' + i))})
	}
	pushLoki(t, srv, map[string]string{"service": "cart"}, same...)
	_, _, err := collect(t, l, Query{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "max_entries_limit_per_query") {
		t.Errorf("err = %v, want one naming max_entries_limit_per_query", err)
	}
}
