package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// TestOwnPackageFromSitePackages: a Python service whose image runs
// `pip install .` executes its own package from site-packages, so every
// frame of its crashes is under site-packages, which is also where
// third-party code lives. The incident must still land on the workspace's
// source, and a third-party frame in the same trace must stay library code.
// The crash is real: python3 runs the package from a site-packages folder.
func TestOwnPackageFromSitePackages(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	ws := t.TempDir()
	src := map[string]string{
		"pyproject.toml":       "[project]\nname = \"shop\"\n",
		"src/shop/__init__.py": "",
		"src/shop/cart.py": `from thirdparty import apply


def total(items):
    subtotal = sum(items)
    return apply(subtotal, discount_of)


def discount_of(subtotal):
    return subtotal / len([])
`,
	}
	for name, text := range src {
		p := filepath.Join(ws, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The image: the package and a dependency installed side by side.
	site := filepath.Join(t.TempDir(), "usr", "local", "lib", "python3.11", "site-packages")
	if err := os.MkdirAll(filepath.Join(site, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"__init__.py", "cart.py"} {
		b, err := os.ReadFile(filepath.Join(ws, "src", "shop", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(site, "shop", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(site, "thirdparty.py"), []byte("def apply(x, f):\n    return f(x)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", "import shop.cart; shop.cart.total([1, 2])")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "site-packages/shop/cart.py") {
		t.Fatalf("the program should crash inside site-packages: err=%v\n%s", err, out)
	}
	logs := filepath.Join(t.TempDir(), "stderr.txt")
	if err := os.WriteFile(logs, out, 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout bytes.Buffer
	if err := runCheck(context.Background(), []string{"--repo", ws, "--logs", logs, "--service", "shop", "--format", "json"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Incidents []incident.Incident }
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got.Incidents) != 1 {
		t.Fatalf("check output %s: %v", stdout.String(), err)
	}
	inc := got.Incidents[0]
	if inc.Location == nil || inc.Location.File != "src/shop/cart.py" || inc.Location.Line != 10 {
		t.Fatalf("location %+v, want src/shop/cart.py:10 (the division); frames %+v", inc.Location, inc.Frames)
	}
	for _, f := range inc.Frames {
		if strings.HasSuffix(f.OriginalPath, "thirdparty.py") && (f.InApp || f.Mapped) {
			t.Errorf("third-party frame %+v taken for workspace code", f)
		}
	}
}
