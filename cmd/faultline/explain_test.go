package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/incident"
)

// explainWorkspace extracts testdata/explain/<name>.txtar into a folder.
func explainWorkspace(t *testing.T, name string) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "explain", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range ar.Files {
		dst := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runCmd runs a faultline subcommand in-process.
func runCmd(t *testing.T, fn func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := fn(context.Background(), args, &out, &errb)
	return out.String(), err
}

func explainCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return runExplain(ctx, args, out, errb)
}

func mappingsCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return runMappings(ctx, args, out, errb)
}

type explainJSON struct {
	Frames []struct {
		Incident string
		Index    int
		Frame    incident.Frame
		Result   pathmap.Result
	}
}

// TestExplainFrame checks that `faultline explain --frame` names the rule
// that really chose the file, lists the losers with why, reports ties as
// ambiguous without choosing, and refuses hostile paths.
func TestExplainFrame(t *testing.T) {
	cases := []struct {
		name      string
		archive   string
		args      []string
		file      string
		rule      string
		ambiguous bool
		losers    []string // candidates that must be listed as lost or tied
		text      []string // phrases the markdown must hold
	}{
		{"go -trimpath module path", "go_trimpath",
			[]string{"--frame", "github.com/acme/shop/cart/cart.go:6", "--function", "github.com/acme/shop/cart.(*Cart).Total"},
			"cart/cart.go", pathmap.RuleGoModule, false, nil,
			[]string{"**Mapped to** `cart/cart.go` by rule `go-module`", "module github.com/acme/shop"}},
		{"/build/src prefix by suffix", "build_src",
			[]string{"--frame", "/build/src/shop/cart.py:2", "--function", "total"},
			"shop/cart.py", pathmap.RuleSuffix, false, []string{"tools/cart.py"},
			[]string{"by rule `suffix` (the longest matching path suffix)", "lost: shares 1 trailing path segment(s), the best shares 2"}},
		{"java package", "java_package",
			[]string{"--frame", "Cart.java:5", "--function", "com.acme.shop.Cart.total"},
			"cart-service/src/main/java/com/acme/shop/Cart.java", pathmap.RuleJavaPackage, false,
			[]string{"billing-service/src/main/java/com/acme/billing/Cart.java"},
			[]string{"by rule `java-package` (the Java/Kotlin package declaration)", "com.acme.shop"}},
		{"ambiguous tie", "ambiguous",
			[]string{"--frame", "/srv/handlers/user.py:2", "--function", "get_user", "--language", "python"},
			"", "", true, []string{"services/a/handlers/user.py", "services/b/handlers/user.py"},
			[]string{"**Ambiguous:** no file chosen", "not guessing", "tied: nothing told it apart"}},
		{"hostile climb", "hostile",
			[]string{"--frame", "/app/../../etc/passwd.py:1"},
			"", "", false, nil,
			[]string{"**Not mapped.**", "never mapped"}},
		{"hostile markup", "hostile",
			[]string{"--frame", "/srv/app/main.py\x1b[31m`|<b>:1", "--language", "python"},
			"", "", false, nil,
			[]string{"**Not mapped.**"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := explainWorkspace(t, c.archive)
			args := append([]string{"--repo", root}, c.args...)
			out, err := runCmd(t, explainCmd, append(args, "--format", "json")...)
			if err != nil {
				t.Fatal(err)
			}
			var doc explainJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Frames) != 1 {
				t.Fatalf("json output %q: %v", out, err)
			}
			r := doc.Frames[0].Result
			if r.File != c.file || r.Rule != c.rule || r.Ambiguous != c.ambiguous {
				t.Errorf("file %q rule %q ambiguous %v; want %q %q %v (%s)", r.File, r.Rule, r.Ambiguous, c.file, c.rule, c.ambiguous, r.Reason)
			}
			for _, l := range c.losers {
				if !hasLoser(r.Candidates, l) {
					t.Errorf("candidate %s not listed as lost or tied: %+v", l, r.Candidates)
				}
			}
			md, err := runCmd(t, explainCmd, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range c.text {
				if !strings.Contains(md, want) {
					t.Errorf("markdown lacks %q:\n%s", want, md)
				}
			}
			if prose := codeSpans.ReplaceAllString(md, ""); strings.ContainsAny(md, "\x1b") || strings.Contains(prose, "<") {
				t.Errorf("markdown carries raw control characters or markup:\n%q", md)
			}
		})
	}
}

// codeSpans matches inline code, where markup is shown as typed.
var codeSpans = regexp.MustCompile("`[^`]*`")

func hasLoser(cands []pathmap.Candidate, file string) bool {
	for _, c := range cands {
		if c.File == file && (strings.HasPrefix(c.Why, "lost") || strings.HasPrefix(c.Why, "tied")) {
			return true
		}
	}
	return false
}

// TestExplainLogs explains the frames of an incident read from logs, as
// the pipeline mapped them, and finds the incident by the id check prints.
func TestExplainLogs(t *testing.T) {
	root := explainWorkspace(t, "build_src")
	logs := filepath.Join(root, "prod", "logs.jsonl")
	var check bytes.Buffer
	if err := runCheck(context.Background(), []string{"--repo", root, "--logs", logs, "--format", "json"}, &check, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Incidents []incident.Incident }
	if err := json.Unmarshal(check.Bytes(), &got); err != nil || len(got.Incidents) != 1 {
		t.Fatalf("check output %s: %v", check.String(), err)
	}
	id := got.Incidents[0].ID
	out, err := runCmd(t, explainCmd, "--repo", root, "--logs", logs, "--incident", id, "--frame", "0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc explainJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Frames) != 1 {
		t.Fatalf("output %s: %v", out, err)
	}
	f := doc.Frames[0]
	if f.Incident != id || f.Frame.Path != "/build/src/shop/cart.py" || f.Result.File != "shop/cart.py" || f.Result.Rule != pathmap.RuleSuffix {
		t.Errorf("explained %+v", f)
	}
	if _, err := runCmd(t, explainCmd, "--repo", root, "--logs", logs, "--incident", "nosuchid"); err == nil || !strings.Contains(err.Error(), "no such incident") {
		t.Errorf("unknown incident: err = %v", err)
	}
}

// TestMappings prints derived rules as a path_rules snippet: the Go module
// always, the /build/src/ prefix once logs show it.
func TestMappings(t *testing.T) {
	goRoot := explainWorkspace(t, "go_trimpath")
	out, err := runCmd(t, mappingsCmd, "--repo", goRoot)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "path_rules:\n  - from: github.com/acme/shop/\n    to: \"\"\n") {
		t.Errorf("go module rule missing:\n%s", out)
	}
	pyRoot := explainWorkspace(t, "build_src")
	out, err = runCmd(t, mappingsCmd, "--repo", pyRoot, "--logs", filepath.Join(pyRoot, "prod", "logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "- from: /build/src/\n    to: \"\"\n") {
		t.Errorf("/build/src/ rule missing:\n%s", out)
	}
	// Once committed, a rule is not proposed again.
	cfg := "path_rules:\n  - from: /build/src/\n    to: \"\"\n"
	if err := os.WriteFile(filepath.Join(pyRoot, ".faultline.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd(t, mappingsCmd, "--repo", pyRoot, "--logs", filepath.Join(pyRoot, "prod", "logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "from: /build/src/") || !strings.Contains(out, "Nothing new") {
		t.Errorf("configured rule proposed again:\n%s", out)
	}
}

// TestExplainFrameMarkdown is the LSP command's entry point.
func TestExplainFrameMarkdown(t *testing.T) {
	root := explainWorkspace(t, "ambiguous")
	md := explainFrame(root, pathmap.Options{ServiceDirs: map[string]string{"b": "services/b"}}, "python", "b",
		incident.Frame{Path: "/srv/handlers/user.py", Line: 2, Function: "get_user"})
	if !strings.Contains(md, "**Mapped to** `services/b/handlers/user.py` by rule `service-dir`") ||
		!strings.Contains(md, "lost: tied, but outside the service folder") {
		t.Errorf("service folder should settle the tie:\n%s", md)
	}
	md = explainFrame(filepath.Join(root, "missing"), pathmap.Options{}, "python", "", incident.Frame{Path: "a.py"})
	if !strings.HasPrefix(md, "**Cannot explain this frame:**") {
		t.Errorf("bad root: %s", md)
	}
}
