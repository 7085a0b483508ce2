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

// TestDictTracebackLog feeds the output of a real run of a worker logging
// with structlog's dict_tracebacks shape (raise OutOfStock(sku) from a
// KeyError, twice, between info lines): two traces, each the KeyError at
// the line that raised it, as the printed traceback would give.
func TestDictTracebackLog(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "structlog_dict_tracebacks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, emit := collect()
	r := New(emit)
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		r.Add(incident.Event{Time: t0, Labels: map[string]string{"service": "inventory"}, Line: l})
	}
	r.Flush()
	if len(*got) != 2 {
		t.Fatalf("got %d traces, want 2", len(*got))
	}
	for _, o := range *got {
		tr := o.Trace
		top := topApp(tr)
		if tr.Language != "python" || tr.ErrorType != "KeyError" || top.Path != "/srv/inventory/inventory/stock.py" || top.Line != 7 {
			t.Errorf("got %s %s at %s:%d", tr.Language, tr.ErrorType, top.Path, top.Line)
		}
		if len(tr.Chain) != 1 || tr.Chain[0].ErrorType != "OutOfStock" {
			t.Errorf("chain %+v", tr.Chain)
		}
	}
}
