package analysis

import (
	"fmt"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
)

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

// TestMovedAmongTwins: the file of the crash is gone at HEAD and its
// function, or its statement with the same neighbours, is now in two
// changed files: the one it moved to and a twin in a sibling package (a
// generic base type copied into two packages, copy-pasted models.py). The
// line goes to the file nearest the deployed one; equally near twins leave
// it unresolved rather than guessed.
func TestMovedAmongTwins(t *testing.T) {
	goBase := func(pkg, extra string) string {
		return "package " + pkg + "\n\ntype base[K comparable, V any] struct {\n\titems map[K]*V\n}\n" + extra +
			"\n// Get returns the value stored under k.\nfunc (c *base[K, V]) Get(k K) (V, bool) {\n\tp := c.items[k]\n\tv := *p\n\treturn v, true\n}\n"
	}
	goPool := "package pool\n\ntype Pool struct {\n\t*base[string, int]\n\tname string\n}\n\nfunc (p *Pool) Name() string {\n\treturn p.name\n}\n\n" +
		goBase("pool", "")[len("package pool\n\n"):]
	pySave := "    def save(self, store):\n        lines = self.meta[\"lines\"]\n        self.meta[\"total\"] = sum(q * p for q, p in lines)\n" +
		"        self.meta[\"count\"] = sum(q for q, _ in lines)\n        self.meta[\"unit\"] = self.meta[\"total\"] // self.meta[\"count\"]\n" +
		"        return super().save(store)\n"
	pyModel := func(doc, cls, extra string) string {
		return "\"\"\"" + doc + "\"\"\"\n\nfrom shop.common.base import Model\n\n" + extra + "\nclass " + cls + "(Model):\n    kind = \"x\"\n\n" + pySave
	}
	pyLine := "class LineItem(Model):\n    def save(self, store):\n        return super().save(store)\n\n"
	// bulk keeps a new file too different from the deleted one for git to
	// call it a rename.
	bulk := func(prefix string) string {
		var b strings.Builder
		for i := 0; i < 12; i++ {
			fmt.Fprintf(&b, "def %s_rule_%d(order):\n    return order.meta.get(%q, %d)\n\n\n", prefix, i, prefix, i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, lang, path string
		line             int
		trees            []map[string]string
		wantFile         string
		wantLine         int
		wantStatus       string
	}{
		{
			name: "go: generic base folded into pool.go, lru has the same Get", lang: "go", path: "internal/pool/base.go", line: 11,
			trees: []map[string]string{
				{"internal/pool/base.go": goBase("pool", ""), "internal/lru/base.go": goBase("lru", "")},
				{"internal/pool/base.go": "", "internal/pool/pool.go": goPool, "internal/lru/base.go": goBase("lru", "\n// Hits counts lookups.\nvar Hits int\n")},
			},
			wantFile: "internal/pool/pool.go", wantLine: 20, wantStatus: gitrepo.StatusMoved,
		},
		{
			name: "python: models.py split into a package, copy-pasted twin in shipping", lang: "python", path: "shop/billing/models.py", line: 13,
			trees: []map[string]string{
				{"shop/billing/models.py": pyModel("Billing models.", "Order", ""), "shop/shipping/models.py": pyModel("Shipping models.", "Shipment", "")},
				{"shop/billing/models.py": "",
					"shop/billing/models/order.py": pyModel("Orders, with totals in cents.\n\nLines are (quantity, price) pairs.\n", "Order", pyLine+bulk("order")),
					"shop/shipping/models.py":      pyModel("Shipping models.", "Shipment", "CARRIER = \"dhl\"\n")},
			},
			wantFile: "shop/billing/models/order.py", wantLine: 68, wantStatus: gitrepo.StatusMoved,
		},
		{
			name: "python: equally near twins stay unresolved", lang: "python", path: "shop/billing/models.py", line: 13,
			trees: []map[string]string{
				{"shop/billing/models.py": pyModel("Billing models.", "Order", "")},
				{"shop/billing/models.py": "",
					"shop/orders/models.py":   pyModel("Orders.", "Order", pyLine+bulk("order")),
					"shop/shipping/models.py": pyModel("Shipping models.", "Shipment", pyLine+bulk("parcel"))},
			},
			wantFile: "shop/billing/models.py", wantLine: 0, wantStatus: gitrepo.StatusMissing,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, dir, shas := historyRepo(t, c.trees, nil)
			checkCarry(t, repo, dir, shas[0], c.lang, c.path, c.line, c.wantFile, c.wantLine, c.wantStatus)
		})
	}
}
