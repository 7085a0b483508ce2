package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/incident"
)

func trace(errType string, frames ...incident.Frame) incident.Trace {
	return incident.Trace{Language: "go", ErrorType: errType, Frames: frames}
}

// TestFingerprint: one bug must stay one incident across deploys (lines
// move, closures are renumbered, addresses change) and two bugs must not
// merge.
func TestFingerprint(t *testing.T) {
	base := trace("runtime error: index out of range",
		incident.Frame{Function: "cart.Total", Path: "/app/cart/total.go", Line: 15},
		incident.Frame{Function: "runtime.goexit", Library: true},
		incident.Frame{Function: "main.handler.func1", Path: "/app/main.go", Line: 40})
	same := []incident.Trace{
		trace("runtime error: index out of range",
			incident.Frame{Function: "cart.Total", Path: "/build/cart/total.go", Line: 19},
			incident.Frame{Function: "runtime.goexit", Library: true, Line: 99},
			incident.Frame{Function: "main.handler.func3", Path: "/app/main.go", Line: 52}),
	}
	other := []incident.Trace{
		trace("assignment to entry in nil map", base.Frames...),
		trace("runtime error: index out of range",
			incident.Frame{Function: "cart.Subtotal", Path: "/app/cart/total.go", Line: 15},
			base.Frames[1], base.Frames[2]),
	}
	fp := Fingerprint(base)
	for _, tr := range same {
		if got := Fingerprint(tr); got != fp {
			t.Errorf("same bug, other fingerprint: %s vs %s for %+v", got, fp, tr.Frames)
		}
	}
	for _, tr := range other {
		if got := Fingerprint(tr); got == fp {
			t.Errorf("different bug, same fingerprint: %q %+v", tr.ErrorType, tr.Frames)
		}
	}
	if IncidentID("checkout", "prod", fp) == IncidentID("billing", "prod", fp) {
		t.Error("the same fingerprint in two services must be two incidents")
	}
}

// TestIdentityMemo: the memo that spares a crash storm the hashing must
// give every trace the identity Fingerprint and IncidentID give it, also
// when traces differ only in what the memo's key holds (service, a library
// frame, the function a closure number names) and after it starts over.
func TestIdentityMemo(t *testing.T) {
	lib := func(fn string) incident.Frame { return incident.Frame{Function: fn, Library: true} }
	app := func(fn string) incident.Frame { return incident.Frame{Function: fn, Path: "/app/x.go", Line: 3} }
	traces := []incident.Trace{
		trace("panic", app("cart.Total"), lib("runtime.goexit")),
		trace("panic", app("cart.Total")),
		trace("panic", app("cart.Total.func1")),
		trace("panic", app("cart.Total.func2")),
		trace("panic", lib("net/http.serve"), lib("runtime.goexit")),
		trace("panic", lib("net/http.serve")),
		trace("panic"),
		trace("error", app("cart.Total")),
		trace("panic", app("a"), app("b"), app("c"), app("d"), app("e"), app("f")),
		trace("panic", app("a"), app("b"), app("c"), app("d"), app("e"), app("g")),
		trace("panic", app("a"), app("b"), app("c"), app("d"), app("e2")),
		// Overflows are named by the functions that recur, further down
		// than the five frames of other errors.
		trace("fatal error: stack overflow", app("a"), app("b"), app("c"), app("d"), app("e"), app("a"), app("b"), app("f"), app("f")),
		trace("fatal error: stack overflow", app("a"), app("b"), app("c"), app("d"), app("e"), app("a"), app("b"), app("g"), app("g")),
	}
	var m identityMemo
	for round := range 3 {
		for _, svc := range []string{"checkout", "billing"} {
			for _, tr := range traces {
				got := m.get(svc, "prod", tr)
				fp := Fingerprint(tr)
				if got.fingerprint != fp || got.id != IncidentID(svc, "prod", fp) {
					t.Errorf("round %d, %s %q %+v: memo %+v, want %s / %s", round, svc, tr.ErrorType, tr.Frames, got, fp, IncidentID(svc, "prod", fp))
				}
			}
		}
		if round == 1 {
			for i := range maxIdentities { // fill it: it starts over
				m.get("svc", "prod", trace(fmt.Sprint(i), app("x")))
			}
			if len(m.ids) > maxIdentities {
				t.Fatalf("memo holds %d identities, bound %d", len(m.ids), maxIdentities)
			}
		}
	}
}

func TestFuncExtent(t *testing.T) {
	goSrc := strings.Split("package s\n\n// Record adds one sample.\nfunc (s *Stats) Record(r string) {\n\ts.mu.Lock()\n\ts.counts[r]++\n}\n\nfunc Other() {}\n", "\n")
	start, end, decl, ok := funcExtent("go", goSrc, 6)
	if !ok || start != 4 || end != 7 || decl != "func (s *Stats) Record(r string) {" {
		t.Errorf("go: %d-%d %q %v", start, end, decl, ok)
	}
	py := strings.Split("class Cart:\n    def total(self):\n        x = 1\n        return self.items['sku']\n\n    def other(self):\n        pass\n", "\n")
	start, end, decl, ok = funcExtent("python", py, 4)
	if !ok || start != 2 || end != 4 || decl != "def total(self):" {
		t.Errorf("python: %d-%d %q %v", start, end, decl, ok)
	}
	// A Python function ends at the next statement at its def's level, not
	// only at the next def: a module-level assignment below is not in it.
	py2 := strings.Split("def points_for(order):\n    return order['campaign']['multiplier']\n\n\nRATE = 3\n\ndef statement_balance(x):\n    return x\n", "\n")
	if start, end, _, ok := funcExtent("python", py2, 2); !ok || start != 1 || end != 2 {
		t.Errorf("python before an assignment: %d-%d %v", start, end, ok)
	}
	if _, _, _, ok := funcExtent("go", goSrc, 1); ok {
		t.Error("a line above every function has no extent")
	}
	// A class getter is a function of its own, not part of the method
	// above it; an if block inside a method is not a declaration.
	js := strings.Split("class Invoice {\n  constructor(order) {\n    this.order = order;\n  }\n\n  get vatRate() {\n    if (this.order) {\n      return VAT[this.order.region].vat;\n    }\n  }\n}\n", "\n")
	if start, end, decl, ok := funcExtent("node", js, 8); !ok || start != 6 || end != 10 || decl != "get vatRate() {" {
		t.Errorf("node getter: %d-%d %q %v", start, end, decl, ok)
	}
	java := strings.Split("class Quote {\n    Memo(String note) {\n        if (note != null) {\n            this.desk = note.strip();\n        }\n    }\n}\n", "\n")
	if start, _, decl, ok := funcExtent("java", java, 4); !ok || start != 2 || decl != "Memo(String note) {" {
		t.Errorf("java constructor around an if: %d %q %v", start, decl, ok)
	}
}

// TestTouchedLines: a commit that only deletes lines (a dropped lock) must
// still count as touching the lines around the deletion.
func TestTouchedLines(t *testing.T) {
	// old: 1 a, 2 lock, 3 b, 4 unlock, 5 c  ->  new: 1 a, 2 b, 3 c
	lineMap := []int{0, 1, 0, 2, 0, 3}
	got := touchedLines(lineMap, 3)
	if !got[2] || !got[3] || got[1] {
		t.Errorf("touched = %v, want lines 2 and 3 (after each deletion), not 1", got)
	}
	// old: 1 a, 2 b -> new: 1 a, 2 x, 3 b: line 2 was added.
	if got := touchedLines([]int{0, 1, 3}, 3); !got[2] || got[1] || got[3] {
		t.Errorf("touched = %v, want only the added line 2", got)
	}
}

func TestIsInfrastructure(t *testing.T) {
	for msg, want := range map[string]bool{
		"dial tcp 10.0.0.7:5432: connect: connection refused":    true,
		"pq: sorry, too many connections for role":               true,
		"context deadline exceeded":                              true,
		"ConnectionRefusedError: [Errno 111] Connection refused": true,
		"java.net.UnknownHostException: db.internal":             true,
		"runtime error: index out of range [3] with length 3":    false,
		"KeyError: 'sku'": false,
		"TypeError: Cannot read properties of undefined (reading 'connection')": false,
	} {
		if _, got := isInfrastructure(msg); got != want {
			t.Errorf("isInfrastructure(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestExplainEmpty: an empty result names the step that came up empty.
func TestExplainEmpty(t *testing.T) {
	for _, c := range []struct {
		s    Stats
		want string
	}{
		{Stats{}, "no log entries"},
		{Stats{Events: 10, Reassembly: reassemble.Stats{Frameless: 2}}, "none carried a stack trace"},
		{Stats{Events: 10}, "none held a stack trace"},
		{Stats{Events: 10, Reassembly: reassemble.Stats{Traces: 3}}, "no frame maps into this workspace"},
	} {
		if got := explainEmpty(c.s); !strings.Contains(got, c.want) {
			t.Errorf("explainEmpty(%+v) = %q, want it to say %q", c.s, got, c.want)
		}
	}
}

// TestChainEvidence: the other exceptions of a chain are named as trace
// evidence (how the failure surfaced), bounded, with secrets redacted.
func TestChainEvidence(t *testing.T) {
	tr := trace("ValueError")
	if got := chainEvidence(tr); len(got) != 0 {
		t.Fatalf("no chain: %v", got)
	}
	tr.Chain = []incident.Trace{{ErrorType: "billing.JobError", Message: "billing.JobError: render failed for inv-2\nmore"}}
	got := chainEvidence(tr)
	if len(got) != 1 || got[0].Kind != "trace" || got[0].Text != "chained with billing.JobError: render failed for inv-2" {
		t.Fatalf("one chained exception: %+v", got)
	}
	tr.Chain = nil
	for i := 0; i < 5; i++ {
		tr.Chain = append(tr.Chain, incident.Trace{ErrorType: "E", Message: "E: password=hunter2"})
	}
	got = chainEvidence(tr)
	if len(got) != maxChainEvidence+1 || got[maxChainEvidence].Text != "and 2 more chained exceptions" {
		t.Fatalf("five chained exceptions: %+v", got)
	}
	if strings.Contains(got[0].Text, "hunter2") {
		t.Fatalf("secret not redacted: %q", got[0].Text)
	}
}

func TestDeclName(t *testing.T) {
	tests := []struct{ lang, decl, want string }{
		{"go", "func Check(p int) error {", "Check"},
		{"go", "func (c *Cart) Total() int {", "Total"},
		{"go", "func Map[T any, U any](xs []T, f func(T) U) []U {", "Map"},
		{"python", "async def fetch_quote(self, sku):", "fetch_quote"},
		{"python", "def total(cart):", "total"},
		{"node", "export async function applyCoupon(cart, code) {", "applyCoupon"},
		{"node", "const total = (items) => {", "total"},
		{"node", "  static fromJSON(raw) {", "fromJSON"},
		{"java", "    public static List<Line> parseLines(String raw) throws IOException {", "parseLines"},
		{"java", "private int total(", "total"},
	}
	for _, tt := range tests {
		if got := declName(tt.lang, tt.decl); got != tt.want {
			t.Errorf("declName(%s, %q) = %q, want %q", tt.lang, tt.decl, got, tt.want)
		}
	}
}

// TestRenamedFunction: a frame's function takes the name its declaration
// has now, and only when the frame names that declaration.
func TestRenamedFunction(t *testing.T) {
	tests := []struct{ lang, function, was, now, want string }{
		{"go", "github.com/acme/basket/cart.Total", "Total", "BasketTotal", "github.com/acme/basket/cart.BasketTotal"},
		{"go", "github.com/acme/basket/cart.Total.func1", "Total", "Sum", "github.com/acme/basket/cart.Sum.func1"},
		{"java", "com.acme.fx.Quote$Tag.<init>", "Tag", "Memo", "com.acme.fx.Quote$Memo.<init>"},
		{"java", "com.acme.fx.Tag.<init>", "Tag", "Memo", "com.acme.fx.Memo.<init>"},
		{"java", "com.acme.fx.Quote.<init>", "Tag", "Memo", "com.acme.fx.Quote.<init>"},
		{"java", "com.acme.fx.Rates.lambda$apply$0", "apply", "applyAll", "com.acme.fx.Rates.lambda$apply$0"},
		{"java", "com.acme.fx.Rates.parse", "parse", "parseLine", "com.acme.fx.Rates.parseLine"},
		{"node", "get vatRate [as vatRate]", "vatRate", "taxRate", "get taxRate [as taxRate]"},
		{"node", "Router.handle [as handle_request]", "handle", "dispatch", "Router.dispatch [as handle_request]"},
		{"node", "new Invoice", "constructor", "constructor", "new Invoice"},
	}
	for _, tt := range tests {
		if got := renamedFunction(tt.lang, tt.function, tt.was, tt.now); got != tt.want {
			t.Errorf("renamedFunction(%s, %q, %q, %q) = %q, want %q", tt.lang, tt.function, tt.was, tt.now, got, tt.want)
		}
	}
}

// TestRenumberedInit: a Go package initializer takes the number it has at
// HEAD when a func init is added or removed above it in its file.
func TestRenumberedInit(t *testing.T) {
	deployed := strings.Split("package tariff\n\nfunc init() {\n\tload()\n}\n", "\n")
	head := strings.Split("package tariff\n\nfunc init() {\n\tfuel()\n}\n\nfunc init() {\n\tload()\n}\n", "\n")
	tests := []struct {
		function string
		old, cur []string
		oldStart int
		newStart int
		want     string
		ok       bool
	}{
		{"github.com/acme/zonetariffs/tariff.init.0", deployed, head, 3, 7, "github.com/acme/zonetariffs/tariff.init.1", true},
		{"github.com/acme/zonetariffs/tariff.init.2.func1", deployed, head, 3, 7, "github.com/acme/zonetariffs/tariff.init.3.func1", true},
		{"github.com/acme/zonetariffs/tariff.init.1", head, deployed, 7, 3, "github.com/acme/zonetariffs/tariff.init.0", true},
		{"main.main", deployed, head, 3, 7, "", false},
		{"github.com/acme/zonetariffs/tariff.(*T).init", deployed, head, 3, 7, "", false},
	}
	for _, tt := range tests {
		got, ok := renumberedInit(tt.function, tt.old, tt.oldStart, tt.cur, tt.newStart)
		if got != tt.want || ok != tt.ok {
			t.Errorf("renumberedInit(%q) = %q, %v; want %q, %v", tt.function, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVersionRefs(t *testing.T) {
	got := strings.Join(versionRefs("billing", "1.4.0"), " ")
	want := "1.4.0 billing/1.4.0 billing/v1.4.0 billing-1.4.0 billing-v1.4.0 billing@1.4.0 billing@v1.4.0"
	if got != want {
		t.Errorf("versionRefs(billing, 1.4.0) = %s\nwant %s", got, want)
	}
	if got := strings.Join(versionRefs("billing", "v2.0.0"), " "); !strings.Contains(got, "billing/2.0.0") || !strings.Contains(got, "billing@v2.0.0") {
		t.Errorf("versionRefs(billing, v2.0.0) = %s", got)
	}
	if got := versionRefs("", "1.4.0"); len(got) != 1 {
		t.Errorf("without a service: %v", got)
	}
}

// TestGroupKeepsDetailedMessage: the group's sample is its newest
// occurrence, unless that one only names its error type where an older one
// says what failed (the JVM replays a failed static initializer as a bare
// "java.lang.NullPointerException" after the first, helpful, message).
func TestGroupKeepsDetailedMessage(t *testing.T) {
	const npe = "java.lang.NullPointerException"
	helpful := npe + `: Cannot invoke "String.toUpperCase()" because the return value of "java.lang.System.getenv(String)" is null`
	at := time.Date(2027, 6, 2, 1, 0, 0, 0, time.UTC)
	occ := func(min int, msg string) reassemble.Occurrence {
		return reassemble.Occurrence{Time: at.Add(time.Duration(min) * time.Minute),
			Trace: incident.Trace{Language: "java", ErrorType: npe, Message: msg}}
	}
	tests := []struct {
		name string
		msgs []string
		want string
	}{
		{"replay after the helpful message", []string{helpful, npe, npe}, helpful},
		{"only bare messages", []string{npe, npe}, npe},
		{"bare first, then detail", []string{npe, helpful}, helpful},
		{"newer detail wins", []string{helpful, npe + ": other"}, npe + ": other"},
	}
	for _, tt := range tests {
		g := &group{versions: map[string]*versionSample{}, buckets: map[int64]int{}}
		for i, m := range tt.msgs {
			g.add(occ(i, m), "v1")
		}
		if got := g.versions["v1"].occ.Trace.Message; got != tt.want {
			t.Errorf("%s: sample message %q, want %q", tt.name, got, tt.want)
		}
		if g.count != len(tt.msgs) {
			t.Errorf("%s: count %d", tt.name, g.count)
		}
	}
}

// TestGoClosurePath: a line in a Go function literal is named as the
// compiler numbers closures, per enclosing function and in source order,
// and a frame takes the number its closure has at HEAD.
func TestGoClosurePath(t *testing.T) {
	src := []byte(`package closer

func (c *Closer) Close(period string) (err error) {
	defer func() {
		log(err)
	}()
	defer func() {
		c.closes[period]++
	}()
	go func() {
		work(func() {
			panic("x")
		})
	}()
	return nil
}

func other() {
	f := func() {}
	f()
}
`)
	tests := []struct {
		line int
		want string
	}{
		{5, "func1"}, {8, "func2"}, {11, "func3"}, {12, "func3.1"}, {15, ""}, {19, "func1"}, {1, ""},
	}
	for _, tt := range tests {
		if got := goClosurePath(src, tt.line); got != tt.want {
			t.Errorf("line %d: %q, want %q", tt.line, got, tt.want)
		}
	}
	renames := []struct{ function, was, now, want string }{
		{"github.com/acme/monthclose/internal/closer.(*Closer).Close.func1", "func1", "func2", "github.com/acme/monthclose/internal/closer.(*Closer).Close.func2"},
		{"main.run.func2.1", "func2.1", "func3.1", "main.run.func3.1"},
		{"main.run.func1", "func1", "", "main.run.func1"},
		{"main.run", "func1", "func2", "main.run"},
		{"main.run.func11", "func1", "func2", "main.run.func11"},
	}
	for _, r := range renames {
		if got := renumberedClosure(r.function, r.was, r.now); got != r.want {
			t.Errorf("renumberedClosure(%q, %q, %q) = %q, want %q", r.function, r.was, r.now, got, r.want)
		}
	}
}

// TestRenamedClass: a Java or Node frame names the class it runs in; when
// the class around the line was renamed, the frame takes the new name.
func TestRenamedClass(t *testing.T) {
	java := strings.Split("package com.acme.fx;\n\npublic class Quote {\n    static final class Memo {\n        private final String desk;\n\n        String format() {\n            return desk.strip();\n        }\n    }\n\n    double usd() {\n        return 1;\n    }\n}\n", "\n")
	js := strings.Split("'use strict';\n\nexport class Bill {\n  constructor(order) {\n    this.id = order.id;\n  }\n}\n", "\n")
	classes := []struct {
		lines []string
		line  int
		want  string
	}{
		{java, 8, "Memo"}, {java, 13, "Quote"}, {java, 1, ""}, {js, 5, "Bill"}, {js, 1, ""},
	}
	for _, c := range classes {
		if got := enclosingClass(c.lines, c.line); got != c.want {
			t.Errorf("enclosingClass(line %d) = %q, want %q", c.line, got, c.want)
		}
	}
	tests := []struct{ lang, function, was, now, want string }{
		{"java", "com.acme.fx.Quote$Tag.format", "Tag", "Memo", "com.acme.fx.Quote$Memo.format"},
		{"java", "com.acme.fx.Quote$Tag.<init>", "Tag", "Memo", "com.acme.fx.Quote$Memo.<init>"},
		{"java", "com.acme.fx.Tag.lambda$format$0", "Tag", "Memo", "com.acme.fx.Memo.lambda$format$0"},
		{"java", "com.acme.fx.Quote.format", "Tag", "Memo", "com.acme.fx.Quote.format"},
		{"java", "com.acme.fx.Tags.format", "Tag", "Memo", "com.acme.fx.Tags.format"},
		{"node", "new Invoice", "Invoice", "Bill", "new Bill"},
		{"node", "Invoice.render", "Invoice", "Bill", "Bill.render"},
		{"node", "async Invoice.render", "Invoice", "Bill", "async Bill.render"},
		{"node", "InvoiceView.render", "Invoice", "Bill", "InvoiceView.render"},
		{"go", "main.Invoice.render", "Invoice", "Bill", "main.Invoice.render"},
	}
	for _, tt := range tests {
		if got := renamedClass(tt.lang, tt.function, tt.was, tt.now); got != tt.want {
			t.Errorf("renamedClass(%s, %q, %q, %q) = %q, want %q", tt.lang, tt.function, tt.was, tt.now, got, tt.want)
		}
	}
}
