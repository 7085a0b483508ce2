package codeactions

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidate runs the real tools on fixed contents: a fix that breaks
// the build is Invalid, a good one Valid, and a file that did not build
// before the fix gives Unchecked rather than blaming the fix.
func TestValidate(t *testing.T) {
	root := t.TempDir()
	write(t, root, "go.mod", "module example.com/m\n\ngo 1.22\n")
	write(t, root, "p/p.go", "package p\n\nfunc F(a, b int) int {\n\treturn a / b\n}\n")
	write(t, root, "p/q.go", "package p\n\nfunc G() int { return F(4, 2) }\n")
	write(t, root, "broken/b.go", "package broken\n\nfunc F() int { return undefinedName }\n")
	write(t, root, "app/m.py", "def f(a, b):\n    return a / b\n")
	write(t, root, "web/a.js", "function f(o) {\n  return o.x;\n}\n")
	tests := []struct {
		name, tool, path, after string
		want                    Verdict
	}{
		{"go fix builds", "go", "p/p.go", "package p\n\nfunc F(a, b int) int {\n\tif b == 0 {\n\t\treturn 0\n\t}\n\treturn a / b\n}\n", Valid},
		{"go fix breaks a caller", "go", "p/p.go", "package p\n\nfunc F(a, b int) (int, error) {\n\treturn a / b, nil\n}\n", Invalid},
		{"go fix not gofmt-clean", "go", "p/p.go", "package p\n\nfunc F(a, b int) int {\n  return a / b\n}\n", Invalid},
		{"go package broken before", "go", "broken/b.go", "package broken\n\nfunc F() int { return undefinedName + 0 }\n", Unchecked},
		{"python compiles", "python3", "app/m.py", "def f(a, b):\n    if b == 0:\n        return None\n    return a / b\n", Valid},
		{"python syntax error", "python3", "app/m.py", "def f(a, b):\n    if b == 0\n        return None\n", Invalid},
		{"node parses", "node", "web/a.js", "function f(o) {\n  return o?.x;\n}\n", Valid},
		{"node syntax error", "node", "web/a.js", "function f(o) {\n  return o?.x = 1;\n}\n", Invalid},
		{"unknown language", "", "README.md", "hello\n", Unchecked},
	}
	v := NewValidator()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.tool != "" {
				if _, err := exec.LookPath(tt.tool); err != nil {
					t.Skipf("%s not installed", tt.tool)
				}
			}
			before, _ := os.ReadFile(filepath.Join(root, tt.path))
			got := v.Validate(context.Background(), Request{IncidentID: tt.name, Root: root, Path: tt.path, Before: before, After: []byte(tt.after)})
			if got.Verdict != tt.want {
				t.Errorf("verdict %v (%s), want %v", got.Verdict, got.Detail, tt.want)
			}
		})
	}
}

// TestValidateCache checks that a verdict is reused for the same incident
// and content: the second call succeeds even with the file's module gone.
func TestValidateCache(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	root := t.TempDir()
	write(t, root, "go.mod", "module example.com/m\n\ngo 1.22\n")
	write(t, root, "p/p.go", "package p\n")
	req := Request{IncidentID: "i1", Root: root, Path: "p/p.go", Before: []byte("package p\n"), After: []byte("package p\n\nvar X = 1\n")}
	v := NewValidator()
	if got := v.Validate(context.Background(), req); got.Verdict != Valid {
		t.Fatalf("first verdict %v (%s), want Valid", got.Verdict, got.Detail)
	}
	if err := os.Remove(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if got := v.Validate(context.Background(), req); got.Verdict != Valid {
		t.Errorf("cached verdict %v, want Valid", got.Verdict)
	}
	req.After = []byte("package p\n\nvar Y = 2\n")
	if got := v.Validate(context.Background(), req); got.Verdict == Valid {
		t.Errorf("new content without go.mod was judged Valid: the cache key ignores the content")
	}
}

// TestWorkspaceFile checks that fix targets cannot leave the workspace.
func TestWorkspaceFile(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write(t, root, "a/b.go", "package a\n")
	write(t, outside, "secret.go", "package s\n")
	if err := os.Symlink(filepath.Join(outside, "secret.go"), filepath.Join(root, "link.go")); err != nil {
		t.Skip("no symlinks:", err)
	}
	for _, tt := range []struct {
		rel string
		ok  bool
	}{
		{"a/b.go", true}, {"../x.go", false}, {"a/../../x.go", false}, {"/etc/passwd", false}, {"link.go", false}, {"", false},
	} {
		_, err := WorkspaceFile(root, tt.rel)
		if (err == nil) != tt.ok {
			t.Errorf("WorkspaceFile(%q) err = %v, want ok=%v", tt.rel, err, tt.ok)
		}
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.TrimPrefix(content, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
