package telemetry

import (
	"reflect"
	"strings"
	"testing"
)

// TestQueryRangeBackwardSameNanosecond reads a saved query_range response
// of direction=backward (Loki's default) whose stream holds entries that
// share a timestamp, as a shipper stamping to the second writes the lines
// of one trace: Loki lists them in the reverse of the order they were
// pushed, and they must come back in the order they were written.
func TestQueryRangeBackwardSameNanosecond(t *testing.T) {
	const body = `{"status":"success","data":{"resultType":"streams","result":[
	 {"stream":{"service":"checkout"},"values":[
	   ["2000000000","after"],
	   ["1000000000","\tmain.go:9"],["1000000000","main.main()"],["1000000000","goroutine 1 [running]:"],["1000000000","panic: boom"],
	   ["500000000","before"]]},
	 {"stream":{"service":"cart"},"values":[["1000000000","second"],["1000000000","first"]]},
	 {"stream":{"service":"api"},"values":[["1000000000","x"],["bad","?"],["2000000000","y"]]}
	]}}`
	got, st, err := collect(t, NewFileSource(copyTo(t, "", "qr.json", []byte(body)), nil), Query{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, e.Labels["service"]+": "+e.Line)
	}
	want := []string{
		"checkout: before", "checkout: panic: boom", "checkout: goroutine 1 [running]:", "checkout: main.main()", "checkout: \tmain.go:9", "checkout: after",
		"cart: first", "cart: second",
		"api: x", "api: y", // already oldest first: kept as written
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("got\n%q\nwant\n%q", lines, want)
	}
	if st.Malformed != 1 {
		t.Errorf("malformed = %d, want 1", st.Malformed)
	}
}

// TestQueryRangeDirectionFromLaterStream: a stream whose entries share one
// time waits for a later stream to show the response's direction; with
// none to show it, a saved response is read as Loki's default, backward.
func TestQueryRangeDirectionFromLaterStream(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"data":{"resultType":"streams","result":[
		   {"stream":{"service":"cart"},"values":[["1000","second"],["1000","first"]]},
		   {"stream":{"service":"one"},"values":[["1500","only"]]},
		   {"stream":{"service":"api"},"values":[["2000","y"],["1000","x"]]}]}}`,
			"one: only|cart: first|cart: second|api: x|api: y"},
		{`{"data":{"resultType":"streams","result":[
		   {"stream":{"service":"cart"},"values":[["1000","b"],["1000","a"]]}]}}`,
			"cart: a|cart: b"},
	} {
		got, _, err := collect(t, NewFileSource(copyTo(t, "", "qr.json", []byte(tc.body)), nil), Query{})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, e := range got {
			lines = append(lines, e.Labels["service"]+": "+e.Line)
		}
		if g := strings.Join(lines, "|"); g != tc.want {
			t.Errorf("got %s, want %s", g, tc.want)
		}
	}
}
