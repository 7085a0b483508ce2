package codeactions

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnifiedDiffGitApply feeds generated diffs to the real `git apply`
// at the root of a temporary repository and checks the result is exactly
// the fixed content: edits in the middle, at both ends, insertions only,
// and files without a final newline.
func TestUnifiedDiffGitApply(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	long := strings.Repeat("line\n", 20)
	tests := []struct {
		name, path, before, after string
	}{
		{"middle", "pkg/a.go", "package a\n\nfunc f() int {\n\treturn 1\n}\n", "package a\n\nfunc f() int {\n\tif x {\n\t\treturn 0\n\t}\n\treturn 1\n}\n"},
		{"first line", "a.py", "x = 1\ny = 2\n", "x = 0\ny = 2\n"},
		{"last line", "a.py", "x = 1\ny = 2\n", "x = 1\ny = 3\n"},
		{"two hunks", "b.txt", "a\n" + long + "b\n" + long + "c\n", "A\n" + long + "b\n" + long + "C\n"},
		{"no final newline", "c.js", "const a = 1;\nmodule.exports = a.b", "const a = 1;\nmodule.exports = a?.b"},
		{"adds final newline", "c.js", "a\nb", "a\nb\n"},
		{"deep path with space", "src/main/java/com/x/My File.java", "class A {}\n", "class A { }\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			runGit(t, git, dir, "init", "-q")
			file := filepath.Join(dir, filepath.FromSlash(tt.path))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(tt.before), 0o644); err != nil {
				t.Fatal(err)
			}
			diff := UnifiedDiff(tt.path, []byte(tt.before), []byte(tt.after))
			if !strings.HasPrefix(diff, "diff --git a/") {
				t.Fatalf("diff lacks the git header:\n%s", diff)
			}
			patch := filepath.Join(t.TempDir(), "fix.diff")
			if err := os.WriteFile(patch, []byte(diff), 0o644); err != nil {
				t.Fatal(err)
			}
			runGit(t, git, dir, "apply", "--check", patch)
			runGit(t, git, dir, "apply", patch)
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.after {
				t.Errorf("after git apply:\n%q\nwant\n%q\ndiff:\n%s", got, tt.after, diff)
			}
		})
	}
	if d := UnifiedDiff("a", []byte("same\n"), []byte("same\n")); d != "" {
		t.Errorf("diff of equal contents = %q, want empty", d)
	}
}

func runGit(t *testing.T, git, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), git, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
