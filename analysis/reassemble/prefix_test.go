package reassemble

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStripRuntimePrefix(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-11-20T10:42:01.123456789Z stderr F panic: boom", "panic: boom"},
		{"2026-11-20T10:42:01.123456789+02:00 stdout P goroutine 1 [running]:", "goroutine 1 [running]:"},
		{"2026-11-20T10:42:01Z stderr F \t/app/main.go:12 +0x1d", "\t/app/main.go:12 +0x1d"},
		{"2026-11-20T10:42:01.5Z stderr F ", ""},
		{"2026-11-20T10:42:01.123Z panic: boom", "panic: boom"}, // docker logs -t
		{"2026-11-20T10:42:01.123Z stderr X panic", "stderr X panic"},
		{"2026-11-20 10:42:01.123 ERROR request failed", "2026-11-20 10:42:01.123 ERROR request failed"},
		{"2026-11-20T10:42:01.123Z", "2026-11-20T10:42:01.123Z"},
		{"2026-11-20T10:42:01.Z stderr F x", "2026-11-20T10:42:01.Z stderr F x"},
		{"2026-11-20T10:42:01+0200 stderr F x", "2026-11-20T10:42:01+0200 stderr F x"},
		{"2026-1a-20T10:42:01Z stderr F x", "2026-1a-20T10:42:01Z stderr F x"},
		{"stderr F panic: boom", "panic: boom"}, // the file source took the time
		{"stdout P x", "x"}, {"stderr: boom", "stderr: boom"}, {"stderr F", "stderr F"},
		{"panic: boom", "panic: boom"}, {"", ""},
	} {
		if got := stripRuntimePrefix(c.in); got != c.want {
			t.Errorf("stripRuntimePrefix(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// criLines prefixes every line of text as kubelet writes a container's
// stderr under /var/log/pods.
func criLines(text string, at time.Time) string {
	var b strings.Builder
	for i, l := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(at.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano))
		b.WriteString(" stderr F ")
		b.WriteString(l)
	}
	return b.String()
}

// TestRuntimePrefixedCrashes checks that crashes whose lines carry the
// container runtime's prefix (a real Go panic, a Python traceback, among
// noise and another stream) give the same traces as the bare lines.
func TestRuntimePrefixedCrashes(t *testing.T) {
	goCrash, err := os.ReadFile("../stack/testdata/go/nil_pointer_method.txt")
	if err != nil {
		t.Fatal(err)
	}
	bare := map[string]string{"cart": strings.TrimRight(string(goCrash), "\n"), "search": pyTrace}
	noise := []string{"GET /healthz 200", `{"level":"info","msg":"tick"}`}
	run := func(streams map[string]string, noise []string) []Occurrence {
		got, emit := collect()
		feed(t, New(emit), streams, noise)
		return *got
	}
	want := run(bare, noise)
	if len(want) != 2 {
		t.Fatalf("bare lines gave %d traces, want 2", len(want))
	}
	prefixed := map[string]string{}
	for svc, text := range bare {
		prefixed[svc] = criLines(text, t0)
	}
	var prefixedNoise []string
	for _, n := range noise {
		prefixedNoise = append(prefixedNoise, criLines(n, t0))
	}
	got := run(prefixed, prefixedNoise)
	if len(got) != len(want) {
		t.Fatalf("prefixed lines gave %d traces, bare %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i].Trace, want[i].Trace) {
			t.Errorf("trace %d:\n got %+v\nwant %+v", i, got[i].Trace, want[i].Trace)
		}
	}
	r := New(func(Occurrence) {})
	for _, l := range []string{criLines("panic: boom", t0), criLines("Traceback (most recent call last):", t0)} {
		if !r.Candidate(l) {
			t.Errorf("Candidate(%q) = false", l)
		}
	}
}
