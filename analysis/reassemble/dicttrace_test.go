package reassemble

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestDictTraceback: a traceback structlog's dict_tracebacks logged as data
// reads as the text traceback it stands for: the chain in printed order
// (oldest first) with Python's separators, so that the Python parser picks
// the same primary exception as from the printed form.
func TestDictTraceback(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string // nil: not a dict traceback
	}{
		{
			name: "one exception",
			line: `{"event":"failed","exception":[{"exc_type":"ZeroDivisionError","exc_value":"division by zero","is_cause":false,"frames":[{"filename":"/srv/app/app/main.py","lineno":9,"name":"<module>"},{"filename":"/srv/app/app/calc.py","lineno":3,"name":"ratio","locals":{"a":"1"}}]}]}`,
			want: []string{
				"Traceback (most recent call last):",
				`  File "/srv/app/app/main.py", line 9, in <module>`,
				`  File "/srv/app/app/calc.py", line 3, in ratio`,
				"ZeroDivisionError: division by zero",
			},
		},
		{
			name: "raise from: the cause printed first",
			line: `{"exception":[{"exc_type":"OutOfStock","exc_value":"B-2","is_cause":false,"frames":[{"filename":"/srv/x/stock.py","lineno":9,"name":"reserve"}]},{"exc_type":"KeyError","exc_value":"'held'","is_cause":true,"frames":[{"filename":"/srv/x/stock.py","lineno":7,"name":"reserve","line":"  have = levels[sku]['held']  "}]}]}`,
			want: []string{
				"Traceback (most recent call last):",
				`  File "/srv/x/stock.py", line 7, in reserve`,
				"    have = levels[sku]['held']",
				"KeyError: 'held'",
				"",
				"The above exception was the direct cause of the following exception:",
				"",
				"Traceback (most recent call last):",
				`  File "/srv/x/stock.py", line 9, in reserve`,
				"OutOfStock: B-2",
			},
		},
		{
			name: "raised while handling, empty message",
			line: `{"exception":[{"exc_type":"TypeError","exc_value":"","is_cause":false,"frames":[{"filename":"/srv/x/fx.py","lineno":12,"name":"to_eur"}]},{"exc_type":"KeyError","exc_value":"'SEK'","is_cause":false,"frames":[{"filename":"/srv/x/fx.py","lineno":10,"name":"to_eur"}]}]}`,
			want: []string{
				"Traceback (most recent call last):",
				`  File "/srv/x/fx.py", line 10, in to_eur`,
				"KeyError: 'SEK'",
				"",
				"During handling of the above exception, another exception occurred:",
				"",
				"Traceback (most recent call last):",
				`  File "/srv/x/fx.py", line 12, in to_eur`,
				"TypeError",
			},
		},
		{name: "exception as text", line: `{"exception":"Traceback (most recent call last):\n  File \"/srv/x/a.py\", line 1, in f\nKeyError: 'a'"}`},
		{name: "a list of something else", line: `{"exception":[{"type":"KeyError","stack":[]}]}`},
		{name: "a frame without a line", line: `{"exception":[{"exc_type":"KeyError","frames":[{"filename":"/srv/x/a.py","name":"f"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(tt.line), &obj); err != nil {
				t.Fatal(err)
			}
			if got := dictTraceback(obj); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestThrownTrace: a throwable log4j2's JsonLayout logged as data reads as
// the trace printStackTrace prints: header, frames, suppressed exceptions
// a tab deeper, then the cause.
func TestThrownTrace(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string // nil: not a JsonLayout throwable
	}{
		{
			name: "cause, native and unknown frames",
			line: `{"message":"quote failed","thrown":{"commonElementCount":0,"localizedMessage":"quote for age 81","message":"quote for age 81","name":"java.lang.IllegalStateException","cause":{"commonElementCount":1,"message":"Index 8 out of bounds for length 8","name":"java.lang.ArrayIndexOutOfBoundsException","extendedStackTrace":[{"class":"com.acme.quotes.Premium","method":"base","file":"Premium.java","line":12,"exact":false,"location":"quotes.jar","version":"?"},{"class":"com.acme.quotes.QuoteService","method":"main","file":"QuoteService.java","line":13}]},"extendedStackTrace":[{"class":"jdk.internal.reflect.NativeMethodAccessorImpl","method":"invoke0","file":"NativeMethodAccessorImpl.java","line":-2},{"class":"com.acme.Gen$$Lambda$1","method":"run","line":-1},{"class":"com.acme.quotes.QuoteService","method":"main","file":"QuoteService.java","line":15}]}}`,
			want: []string{
				"java.lang.IllegalStateException: quote for age 81",
				"\tat jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
				"\tat com.acme.Gen$$Lambda$1.run(Unknown Source)",
				"\tat com.acme.quotes.QuoteService.main(QuoteService.java:15)",
				"Caused by: java.lang.ArrayIndexOutOfBoundsException: Index 8 out of bounds for length 8",
				"\tat com.acme.quotes.Premium.base(Premium.java:12)",
				"\tat com.acme.quotes.QuoteService.main(QuoteService.java:13)",
			},
		},
		{
			name: "no message, suppressed",
			line: `{"thrown":{"name":"java.lang.NullPointerException","extendedStackTrace":[{"class":"a.B","method":"c","file":"B.java","line":3}],"suppressed":[{"name":"java.io.IOException","message":"close failed","extendedStackTrace":[{"class":"a.R","method":"close","file":"R.java","line":9}]}]}}`,
			want: []string{
				"java.lang.NullPointerException",
				"\tat a.B.c(B.java:3)",
				"\tSuppressed: java.io.IOException: close failed",
				"\t\tat a.R.close(R.java:9)",
			},
		},
		{name: "stack trace as a string", line: `{"thrown":{"name":"java.lang.X","extendedStackTrace":"java.lang.X\n\tat a.B.c(B.java:3)"}}`},
		{name: "a frame without a method", line: `{"thrown":{"name":"java.lang.X","extendedStackTrace":[{"class":"a.B","file":"B.java","line":3}]}}`},
		{name: "thrown as text", line: `{"thrown":"java.lang.X"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(tt.line), &obj); err != nil {
				t.Fatal(err)
			}
			if got := thrownTrace(obj); !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestStructuredThrowableLogs feeds the output of real runs of services
// logging exceptions as data: structlog's dict_tracebacks (raise
// OutOfStock(sku) from a KeyError, twice, between info lines) and log4j2's
// JsonLayout (an ArrayIndexOutOfBoundsException wrapped in an
// IllegalStateException, twice). Each failure is one trace, located as its
// printed form would be.
func TestStructuredThrowableLogs(t *testing.T) {
	tests := []struct {
		file, lang, errType, chainType, topPath string
		topLine                                 int
	}{
		{"structlog_dict_tracebacks.txt", "python", "KeyError", "OutOfStock", "/srv/inventory/inventory/stock.py", 7},
		{"log4j2_jsonlayout.txt", "java", "java.lang.ArrayIndexOutOfBoundsException", "java.lang.IllegalStateException", "Premium.java", 12},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, emit := collect()
			r := New(emit)
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "x"}, Line: l})
			}
			r.Flush()
			if len(*got) != 2 {
				t.Fatalf("got %d traces, want 2", len(*got))
			}
			for _, o := range *got {
				tr := o.Trace
				top := topApp(tr)
				if tr.Language != tt.lang || tr.ErrorType != tt.errType || top.Path != tt.topPath || top.Line != tt.topLine {
					t.Errorf("got %s %s at %s:%d", tr.Language, tr.ErrorType, top.Path, top.Line)
				}
				if len(tr.Chain) != 1 || tr.Chain[0].ErrorType != tt.chainType {
					t.Errorf("chain %+v", tr.Chain)
				}
			}
		})
	}
}
