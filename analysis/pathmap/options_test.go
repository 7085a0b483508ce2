package pathmap

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

func TestNewRejectsRulesOutsideWorkspace(t *testing.T) {
	root := workspace(t, "python_app")
	cases := []struct {
		name string
		opt  Options
		ok   bool
	}{
		{"plain rule", Options{Rules: []Rule{{From: "/app/", To: "shop/"}}}, true},
		{"root target", Options{Rules: []Rule{{From: "/app/", To: ""}}}, true},
		{"climbing target", Options{Rules: []Rule{{From: "/app/", To: "../other/"}}}, false},
		{"absolute target", Options{Rules: []Rule{{From: "/app/", To: "/etc/"}}}, false},
		{"empty from", Options{Rules: []Rule{{From: "", To: "shop/"}}}, false},
		{"climbing service folder", Options{ServiceDirs: map[string]string{"x": "a/../../b"}}, false},
		{"absolute service folder", Options{ServiceDirs: map[string]string{"x": "/srv"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := New(root, c.opt)
			if (err == nil) != c.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, c.ok)
			}
			if m != nil {
				m.Close()
			}
		})
	}
	if _, err := New(filepath.Join(root, "missing"), Options{}); err == nil {
		t.Error("New on a missing folder succeeded")
	}
}

func TestConfigRuleLongestFromWins(t *testing.T) {
	root := workspace(t, "go_monorepo")
	m, err := New(root, Options{Rules: []Rule{
		{From: "/app", To: ""},
		{From: "file:///app/checkout/", To: "services/checkout"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cases := []struct{ path, file, rule string }{
		{"/app/checkout/cart/cart.go", "services/checkout/cart/cart.go", RuleConfig},
		{"/app/cart/cart.go", "cart/cart.go", RuleConfig},
		// The longest rule matches but names no file: mapping goes on.
		{"/app/checkout/pay/pay.go", "services/checkout/pay/pay.go", RuleConfig},
		{"/app/checkout/main.go", "main.go", RuleSuffix},
	}
	for _, c := range cases {
		got := m.Map("go", "", incident.Frame{Path: c.path})
		if got.File != c.file || got.Rule != c.rule {
			t.Errorf("%s -> %q (%s), want %q (%s): %s", c.path, got.File, got.Rule, c.file, c.rule, got.Reason)
		}
	}
}

func TestDerivedRules(t *testing.T) {
	root := workspace(t, "go_monorepo")
	m, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Map("go", "", incident.Frame{Path: "/build/src/services/checkout/pay/pay.go"})
	m.Map("go", "", incident.Frame{Path: "/build/src/main.go"})
	m.Map("go", "", incident.Frame{Path: "/app/cart/cart.go"}) // ambiguous: implies nothing
	got := m.DerivedRules()
	want := []Rule{
		{From: "/build/src/", To: ""},
		{From: "github.com/acme/checkout/", To: "services/checkout/"},
		{From: "github.com/acme/shop/", To: ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("DerivedRules() = %v, want %v", got, want)
	}
}

func TestSkippedSymlinks(t *testing.T) {
	m, err := New(workspace(t, "hostile"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, want := m.Skipped(), []string{"ext", "secrets.py"}; !slices.Equal(got, want) {
		t.Errorf("Skipped() = %v, want %v", got, want)
	}
}

// A Mapper is a snapshot: each file is read once for symbol checks, so a
// later edit on disk does not change its answers (the server builds a new
// Mapper when HEAD changes).
func TestSymbolReadsFileOnce(t *testing.T) {
	root := workspace(t, "ambiguous")
	m, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := incident.Frame{Path: "/app/handlers/order.py", Function: "place"}
	first := m.Map("python", "", f)
	if first.File != "services/a/handlers/order.py" {
		t.Fatalf("first map: %q (%s)", first.File, first.Reason)
	}
	if err := os.WriteFile(filepath.Join(root, "services/a/handlers/order.py"), []byte("def other():\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := m.Map("python", "", f); again.File != first.File || again.Rule != RuleSymbol {
		t.Errorf("second map read the file again: %q (%s)", again.File, again.Reason)
	}
}

func TestFuncName(t *testing.T) {
	cases := []struct {
		lang, fn, name string
		ctor           bool
	}{
		{"go", "github.com/acme/shop/cart.(*Cart).Total", "Total", false},
		{"go", "github.com/acme/shop/cart.(*Cart[...]).Total.func1.2", "Total", false},
		{"go", "main.main.gowrap1", "main", false},
		{"go", "github.com/acme/shop/cart.Cart.Total", "Total", false},
		{"java", "com.acme.Cart.lambda$total$0", "total", false},
		{"java", "com.acme.Cart$Item.<init>", "Item", true},
		{"java", "com.acme.fx.Rates.<clinit>", "Rates", true},
		{"java", "com.acme.Quote$Memo.<clinit>", "Memo", true},
		{"java", "com.acme.CartKt.total$default", "total", false},
		{"python", "total", "total", false},
		{"python", "<module>", "", false},
		{"node", "async Cart.total", "total", false},
		{"node", "new Cart", "Cart", true},
		{"node", "Object.<anonymous>", "", false},
		{"node", "Router.handle [as handle_request]", "handle", false},
		{"node", "get vatRate [as vatRate]", "vatRate", false},
		{"node", "set v [as v]", "v", false},
		{"node", "get total", "total", false},
	}
	for _, c := range cases {
		name, ctor := funcName(c.lang, c.fn)
		if name != c.name || ctor != c.ctor {
			t.Errorf("funcName(%s, %q) = %q,%v; want %q,%v", c.lang, c.fn, name, ctor, c.name, c.ctor)
		}
	}
}

// TestDefiner: the definition a frame's function names is found in the
// file that holds it, including the synthetic frames of a class's
// initializers and of a Python class body run at import.
func TestDefiner(t *testing.T) {
	cases := []struct {
		lang, fn, src string
		want          bool
	}{
		{"java", "com.acme.fx.Rates.<clinit>", "public final class Rates {\n    static { load(); }\n}\n", true},
		{"java", "com.acme.fx.Rates.<clinit>", "public final class Quote {\n}\n", false},
		{"python", "Limits", "import os\n\nclass Limits:\n    RAW = os.environ['X']\n", true},
		{"python", "total", "def total(cart):\n    return 0\n", true},
		{"python", "Limits", "def limits():\n    pass\n", false},
		{"node", "get vatRate [as vatRate]", "class Invoice {\n  get vatRate() {\n    return 1;\n  }\n}\n", true},
	}
	for _, c := range cases {
		d := newDefiner(c.lang, c.fn)
		if d == nil {
			t.Errorf("%s %q: nothing to look for", c.lang, c.fn)
			continue
		}
		if got := d.in([]byte(c.src)); got != c.want {
			t.Errorf("%s %q in %q = %v, want %v", c.lang, c.fn, c.src, got, c.want)
		}
	}
}

// FuzzMap feeds arbitrary frame paths: Map must not panic and must never
// return a file the index does not hold.
func FuzzMap(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "/etc/passwd", "file:///%2e%2e/x", "webpack://", "C:\\", "\x00", "node:", "<x>", "a/b/c.py", "/app/handlers/user.py"} {
		f.Add(s, "python", "place")
	}
	root := workspace(f, "ambiguous")
	m, err := New(root, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p, lang, fn string) {
		r := m.Map(lang, "", incident.Frame{Path: p, Function: fn, Package: fn})
		if r.File != "" && (!m.idx.exists[r.File] && !strings.HasPrefix(r.File, "node_modules/")) {
			t.Fatalf("Map(%q) returned unindexed %q", p, r.File)
		}
	})
}

// Two folders declare github.com/acme/checkout; go.work names the one in use.
func TestGoWorkSettlesDuplicateModule(t *testing.T) {
	root := workspace(t, "go_monorepo")
	f := incident.Frame{Path: "github.com/acme/checkout/pay/pay.go"}
	m, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Map("go", "", f); got.File != "services/checkout/pay/pay.go" || got.Rule != RuleGoModule {
		t.Errorf("with go.work: %q (%s): %s", got.File, got.Rule, got.Reason)
	}
	m.Close()
	if err := os.Remove(filepath.Join(root, "go.work")); err != nil {
		t.Fatal(err)
	}
	m, err = New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Without go.work the module is ambiguous, so it is not used; the path
	// suffix still finds the only pay.go, and the frame is not called a library.
	if got := m.Map("go", "", f); got.File != "services/checkout/pay/pay.go" || got.Rule != RuleSuffix || !got.InApp {
		t.Errorf("without go.work: %q (%s, in_app %v): %s", got.File, got.Rule, got.InApp, got.Reason)
	}
}

func TestMapConcurrent(t *testing.T) {
	m, err := New(workspace(t, "ambiguous"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	done := make(chan Result)
	for i := 0; i < 8; i++ {
		go func() {
			done <- m.Map("python", "", incident.Frame{Path: "/app/handlers/order.py", Function: "place"})
		}()
	}
	for i := 0; i < 8; i++ {
		if r := <-done; r.File != "services/a/handlers/order.py" {
			t.Errorf("concurrent map: %q (%s)", r.File, r.Reason)
		}
	}
}
