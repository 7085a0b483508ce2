package analysis

import (
	"context"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestMatchDeployedFrame: javac does not require folders to follow
// packages, so a JVM frame ("com.acme.billing.Invoice.unitPrice",
// Invoice.java) may match two Invoice.java of the deployed tree equally
// (modules/billing/src and modules/shipping/src, both without package
// folders). The file declaring the frame's package is the one production
// ran; without that (other languages, one package twice) it stays a tie.
func TestMatchDeployedFrame(t *testing.T) {
	invoice := func(pkg string) string {
		return "package " + pkg + ";\n\npublic class Invoice {\n    long unitPrice(long a, int u) {\n        return a / u;\n    }\n}\n"
	}
	tree := map[string]string{
		"modules/billing/src/Invoice.java":  invoice("com.acme.billing"),
		"modules/shipping/src/Invoice.java": invoice("com.acme.shipping"),
		"modules/legacy/src/Invoice.java":   invoice("com.acme.legacy"),
		"modules/legacy/old/Invoice.java":   invoice("com.acme.legacy"),
		"modules/app/src/Main.java":         "package com.acme.rates;\n\npublic class Main {}\n",
		"modules/kt/src/Invoice.kt":         "// Kotlin twin\npackage com.acme.kt\n\nclass Invoice\n",
		"modules/kt2/src/Invoice.kt":        "package com.acme.kt2\n\nclass Invoice\n",
		"billing/pay.go":                    "package billing\n",
		"shipping/pay.go":                   "package shipping\n",
	}
	repo, dir, shas := historyRepo(t, []map[string]string{tree}, nil)
	a := New(Config{Root: dir, Repo: repo})
	for _, c := range []struct {
		name, lang string
		f          incident.Frame
		want       string
	}{
		{"billing twin", "java", incident.Frame{Function: "com.acme.billing.Invoice.unitPrice", Package: "com.acme.billing", Path: "Invoice.java", Line: 5}, "modules/billing/src/Invoice.java"},
		{"shipping twin", "java", incident.Frame{Function: "com.acme.shipping.Invoice.unitPrice", Package: "com.acme.shipping", Path: "Invoice.java", Line: 5}, "modules/shipping/src/Invoice.java"},
		{"one package in two folders stays a tie", "java", incident.Frame{Function: "com.acme.legacy.Invoice.unitPrice", Package: "com.acme.legacy", Path: "Invoice.java", Line: 5}, ""},
		{"no file of that package", "java", incident.Frame{Function: "com.acme.tax.Invoice.unitPrice", Package: "com.acme.tax", Path: "Invoice.java", Line: 5}, ""},
		{"unique name", "java", incident.Frame{Function: "com.acme.rates.Main.main", Package: "com.acme.rates", Path: "Main.java", Line: 3}, "modules/app/src/Main.java"},
		{"kotlin package without semicolon", "kotlin", incident.Frame{Function: "com.acme.kt.Invoice.total", Package: "com.acme.kt", Path: "Invoice.kt", Line: 4}, "modules/kt/src/Invoice.kt"},
		{"go twins stay a tie", "go", incident.Frame{Function: "example.com/x/billing.Pay", Package: "example.com/x/billing", Path: "/src/pay.go", Line: 1}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := a.matchDeployedFrame(context.Background(), shas[0], c.lang, c.f); got != c.want {
				t.Errorf("matchDeployedFrame(%s %s) = %q, want %q", c.lang, c.f.Function, got, c.want)
			}
		})
	}
}

func TestDeclaredPackage(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"package com.acme.billing;\n\nclass A {}\n", "com.acme.billing"},
		{"/*\n * Licensed.\n */\npackage  com.acme.x ;\n", "com.acme.x"},
		{"// comment\npackage com.acme.kt\n\nclass B\n", "com.acme.kt"},
		{"import java.util.List;\n\nclass C {}\npackage x;\n", ""},
		{"public class D {}\n", ""},
	} {
		if got := declaredPackage(splitLines([]byte(c.src))); got != c.want {
			t.Errorf("declaredPackage(%q) = %q, want %q", c.src, got, c.want)
		}
	}
}
