package scenario

import (
	"strings"
	"testing"
)

func TestParseCommit(t *testing.T) {
	tests := []struct {
		name    string
		archive string
		wantErr string
		subject string
		files   int
		deleted int
	}{
		{"full", "message: cart: apply coupons\nauthor: Carol <c@x.io>\ndate: 2026-11-16T11:02:00Z\n\nBody line.\n-- a.go --\npackage a\n-- b.go --\n<deleted>\n", "", "cart: apply coupons", 1, 1},
		{"missing date", "message: x\nauthor: A <a@x.io>\n-- a.go --\nx\n", "required", "", 0, 0},
		{"bad author", "message: x\nauthor: nobody\ndate: 2026-11-16T11:02:00Z\n-- a.go --\nx\n", "Name <email>", "", 0, 0},
		{"bad date", "message: x\nauthor: A <a@x.io>\ndate: yesterday\n-- a.go --\nx\n", "date", "", 0, 0},
		{"unknown header", "message: x\nreviewer: B\n-- a.go --\nx\n", "unknown header", "", 0, 0},
		{"no files", "message: x\nauthor: A <a@x.io>\ndate: 2026-11-16T11:02:00Z\n", "no files", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseCommit("001", []byte(tt.archive))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != tt.subject || len(c.Files) != tt.files || len(c.Deleted) != tt.deleted || c.Body != "Body line." {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestMarkers(t *testing.T) {
	src := "a := 1\n\tx[i] = v // CRASH\n\ty = z  # CRASH(db)\n\t// CRASHES are rare\n\tq := \"// CRASH(not-a-marker) inside\" + s\n"
	ms := FindMarkers(map[string][]byte{"f.go": []byte(src)})
	want := []Marker{{ID: "", File: "f.go", Line: 2, Text: "x[i] = v"}, {ID: "db", File: "f.go", Line: 3, Text: "y = z"}}
	if len(ms) != len(want) || ms[0] != want[0] || ms[1] != want[1] {
		t.Fatalf("FindMarkers = %+v, want %+v", ms, want)
	}
	got := string(StripMarkers([]byte(src)))
	if strings.Count(got, "\n") != strings.Count(src, "\n") || strings.Contains(got, "// CRASH\n") || strings.Contains(got, "CRASH(db)") {
		t.Errorf("StripMarkers = %q", got)
	}
	if !strings.Contains(got, "CRASHES are rare") || !strings.Contains(got, "not-a-marker") {
		t.Errorf("StripMarkers removed text that is not a marker: %q", got)
	}
}

// TestMarkersCRLF: a file written with CRLF line endings keeps them, and its
// markers are found and stripped like any other.
func TestMarkersCRLF(t *testing.T) {
	src := "a = 1\r\nb = a / c  # CRASH\r\nreturn b\r\n"
	ms := FindMarkers(map[string][]byte{"f.py": []byte(src)})
	if len(ms) != 1 || ms[0].Line != 2 || ms[0].Text != "b = a / c" {
		t.Fatalf("FindMarkers = %+v, want line 2 %q", ms, "b = a / c")
	}
	if got, want := string(StripMarkers([]byte(src))), "a = 1\r\nb = a / c\r\nreturn b\r\n"; got != want {
		t.Errorf("StripMarkers = %q, want %q", got, want)
	}
}
