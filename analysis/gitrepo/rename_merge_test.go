package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCarryRenameAcrossMerge: production ran a hotfix branch that was later
// merged back into main, and main renamed the file (with edits) before the
// merge and again after it. No single diff from the deployed commit to HEAD
// sees a rename (too much changed between the two ends), and the deployed
// commit is not on HEAD's first-parent chain: the rename is followed
// through the merge's second parent, step by step.
func TestCarryRenameAcrossMerge(t *testing.T) {
	dir := t.TempDir()
	file := func(rel string, edit func(i int) string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("package fees\n")
		for i := 1; i <= 20; i++ {
			fmt.Fprintf(&b, "%s\n", edit(i))
		}
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	orig := func(i int) string {
		return fmt.Sprintf("func rate%02d(amount int) int { return amount * %d / 10000 }", i, 100+i)
	}
	hot := func(i int) string {
		if i == 10 {
			return "func rate10(amount int) int { return tiers[amount/1000] * amount / 10000 }"
		}
		return orig(i)
	}
	gitCLI(t, dir, "init", "-q", "-b", "main")
	file("a/fees.go", orig)
	gitCLI(t, dir, "add", ".")
	gitCLI(t, dir, "commit", "-qm", "base")
	gitCLI(t, dir, "checkout", "-qb", "hotfix")
	file("a/fees.go", hot)
	gitCLI(t, dir, "commit", "-qam", "hotfix: tier lookup")
	deployed := gitCLI(t, dir, "rev-parse", "HEAD")
	gitCLI(t, dir, "checkout", "-q", "main")
	mkdir := func(rel string) {
		if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("b")
	gitCLI(t, dir, "mv", "a/fees.go", "b/fees.go")
	file("b/fees.go", func(i int) string {
		if i > 13 {
			return fmt.Sprintf("func fee%02d(cents int64) int64 { return cents * %d / 10000 } // v2", i, 100+i)
		}
		return orig(i)
	})
	gitCLI(t, dir, "commit", "-qam", "fees: move to b, int64 cents")
	gitCLI(t, dir, "merge", "-q", "--no-edit", "hotfix")
	b, err := os.ReadFile(filepath.Join(dir, "b", "fees.go"))
	if err != nil || !strings.Contains(string(b), "tiers[amount/1000]") {
		t.Fatalf("the merge did not carry the hotfix into b/fees.go: %v\n%s", err, b)
	}
	mkdir("c")
	gitCLI(t, dir, "mv", "b/fees.go", "c/fees.go")
	merged := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[1:]
	file("c/fees.go", func(i int) string {
		if i < 8 {
			return fmt.Sprintf("func base%02d(cents int64) int64 { return cents * %d / 10000 } // v3", i, 100+i)
		}
		return merged[i-1]
	})
	gitCLI(t, dir, "commit", "-qam", "fees: move to c, int64 everywhere")

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.CarryLine(context.Background(), deployed, "a/fees.go", 11)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "c/fees.go" || c.Line != 11 || c.Status != StatusUnchanged {
		t.Errorf("carried to %s:%d (%s) %q, want c/fees.go:11 unchanged", c.Path, c.Line, c.Status, c.Note)
	}
}
