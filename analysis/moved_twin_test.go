package analysis

import "testing"

// A function moved out of a deleted file is declared, line for line, by a
// twin in a sibling package too (a generic base[K, V] with the same Get in
// pool and in lru): the declaring file nearest the deployed one wins, and a
// tie between equally near files stays ambiguous.
func TestNearestDeclaring(t *testing.T) {
	tests := []struct {
		name     string
		deployed string
		files    []string
		want     string
	}{
		{"none", "internal/pool/base.go", nil, ""},
		{"only one, elsewhere", "internal/pool/base.go", []string{"pkg/slots/pool.go"}, "pkg/slots/pool.go"},
		{"same package beats sibling twin", "internal/pool/base.go",
			[]string{"internal/lru/base.go", "internal/pool/pool.go"}, "internal/pool/pool.go"},
		{"twin listed second", "internal/pool/base.go",
			[]string{"internal/pool/pool.go", "internal/lru/base.go"}, "internal/pool/pool.go"},
		{"deeper shared folder", "services/billing/app/models/mixins.py",
			[]string{"services/billing/app/models/base.py", "services/shipping/app/models/base.py"},
			"services/billing/app/models/base.py"},
		{"equally far twins are ambiguous", "internal/pool/base.go",
			[]string{"internal/lru/base.go", "internal/cache/base.go"}, ""},
		{"root files tie", "base.go", []string{"a.go", "b.go"}, ""},
		{"root file against nested", "base.go", []string{"lib/a.go", "b.go"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearestDeclaring(tt.deployed, tt.files); got != tt.want {
				t.Errorf("nearestDeclaring(%q, %q) = %q, want %q", tt.deployed, tt.files, got, tt.want)
			}
		})
	}
}
