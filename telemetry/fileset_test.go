package telemetry

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// page renders a query_range page of direction=backward: the values of
// each stream newest first.
func page(stream string, values ...string) string {
	var vs []string
	for i := len(values) - 1; i >= 0; i-- {
		ts, line, _ := strings.Cut(values[i], " ")
		vs = append(vs, fmt.Sprintf("[%q,%q]", ts, line))
	}
	return `{"status":"success","data":{"resultType":"streams","result":[{"stream":` + stream +
		`,"values":[` + strings.Join(vs, ",") + `]}],"stats":{}}}`
}

// TestFileSetPages reads a query saved page by page, the files given as
// they were saved (newest page first): the entries come oldest first, and
// those a page repeats at its edge (the next request ended 1ns after the
// oldest entry of the page before) come once.
func TestFileSetPages(t *testing.T) {
	const st = `{"service":"checkout"}`
	p1 := copyTo(t, "", "page-1.json", []byte(page(st, "30 goroutine 1 [running]:", "30 main.main()", "40 \tmain.go:9", "50 after")))
	p2 := copyTo(t, "", "page-2.json", []byte(page(st, "10 before", "20 panic: boom", "30 goroutine 1 [running]:", "30 main.main()")))
	// A jsonl file in between in time, of another stream, given first.
	other := copyTo(t, "", "other.jsonl", []byte(`{"labels":{"service":"cart"},"line":"x","timestamp":"1970-01-01T00:00:00.000000025Z"}`+"\n"))
	got, st2, err := collect(t, NewFileSet([]string{other, p1, p2}, nil), Query{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%d %s: %s", e.Time.UnixNano(), e.Labels["service"], e.Line))
	}
	want := []string{
		"10 checkout: before", "20 checkout: panic: boom", "30 checkout: goroutine 1 [running]:", "30 checkout: main.main()",
		"25 cart: x",
		"40 checkout: \tmain.go:9", "50 checkout: after",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got\n%q\nwant\n%q", lines, want)
	}
	if st2.Entries != 9 {
		t.Errorf("entries = %d, want the 9 read (2 of them repeats)", st2.Entries)
	}
}

// TestFileSetGivenOrder keeps the order given when a file (plain text)
// tells no time, and reads on past a file that cannot be read.
func TestFileSetGivenOrder(t *testing.T) {
	text := copyTo(t, "", "stderr.txt", []byte("panic: boom\n"))
	qr := copyTo(t, "", "qr.json", []byte(page(`{"service":"checkout"}`, "10 first")))
	missing := text + ".missing"
	got, _, err := collect(t, NewFileSet([]string{text, missing, qr}, map[string]string{"service": "api"}), Query{})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("err = %v, want the missing file named", err)
	}
	if len(got) != 2 || got[0].Line != "panic: boom" || got[1].Line != "first" {
		t.Errorf("got %+v", got)
	}
}

func TestOldestValue(t *testing.T) {
	// A line holding what looks like a value, escaped, is not one.
	body := `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"[\"1\"]"},"values":[["300","[\"5\"]"],["200","x"]]},{"stream":{},"values":[["250","y"]]}]}}`
	got, ok := oldestValue(strings.NewReader(body))
	if !ok || got.UnixNano() != 200 {
		t.Errorf("oldestValue = %v, %v; want 200ns", got.UnixNano(), ok)
	}
	// A timestamp across the scanner's reads.
	pad := strings.Repeat(" ", readBufferSize-3)
	got, ok = oldestValue(strings.NewReader(`{"data":{"result":[{"values":[` + pad + `["1795171321000000000","x"]]}]}}`))
	if !ok || got.UnixNano() != 1795171321000000000 {
		t.Errorf("across reads: %v, %v", got.UnixNano(), ok)
	}
}

// TestLogcliDefaultOutputHint: a file saved from `logcli query` without
// --output (times to the second, labels, trimmed lines, newest first) is
// read as text, with a hint to save it as jsonl; a docker-style text log
// whose lines are JSON gets none.
func TestLogcliDefaultOutputHint(t *testing.T) {
	logcli := "2026-11-20T10:42:02Z {env=\"prod\", service=\"checkout\"} /app/main.go:9 +0x1d\n" +
		"2026-11-20T10:42:02Z {env=\"prod\", service=\"checkout\"} goroutine 1 [running]:\n" +
		"2026-11-20T10:42:01Z {env=\"prod\", service=\"checkout\"} panic: boom\n"
	_, st, err := collect(t, NewFileSource(copyTo(t, "", "out.log", []byte(logcli)), nil), Query{})
	if err != nil || !strings.Contains(st.Hint, "--output jsonl") {
		t.Errorf("hint %q (err %v), want one naming --output jsonl", st.Hint, err)
	}
	docker := "2026-11-20T10:42:01.5Z {\"level\":\"info\",\"msg\":\"ok\"}\n2026-11-20T10:42:01.6Z panic: boom\n"
	_, st, err = collect(t, NewFileSource(copyTo(t, "", "docker.log", []byte(docker)), nil), Query{})
	if err != nil || st.Hint != "" {
		t.Errorf("hint %q (err %v) for a docker log, want none", st.Hint, err)
	}
}
