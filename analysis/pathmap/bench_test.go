package pathmap

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// bigTree writes a 20,000-file monorepo: 20 Go modules of 50 packages, each
// package holding handler.go (a base name shared by 1,000 files, the worst
// case for suffix matching) and 19 uniquely named files.
func bigTree(b *testing.B) string {
	b.Helper()
	root := b.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for s := 0; s < 20; s++ {
		svc := fmt.Sprintf("services/svc%02d", s)
		write(svc+"/go.mod", fmt.Sprintf("module github.com/acme/svc%02d\n", s))
		n++
		for p := 0; p < 50; p++ {
			pkg := fmt.Sprintf("%s/pkg%02d", svc, p)
			write(pkg+"/handler.go", fmt.Sprintf("package pkg%02d\n\nfunc Handle%d() {}\n", p, s))
			n++
			for f := 0; f < 19 && n < 20000; f++ {
				write(fmt.Sprintf("%s/f%02d_%02d_%02d.go", pkg, s, p, f), "package x\n")
				n++
			}
		}
	}
	return root
}

func BenchmarkNew(b *testing.B) {
	root := bigTree(b)
	b.ResetTimer()
	for b.Loop() {
		m, err := New(root, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if m.Files() < 20000 {
			b.Fatalf("indexed %d files", m.Files())
		}
		m.Close()
	}
}

func BenchmarkMap(b *testing.B) {
	root := bigTree(b)
	m, err := New(root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	frames := []struct {
		name, lang string
		f          incident.Frame
		want       string
	}{
		{"go-module", "go", incident.Frame{Path: "github.com/acme/svc07/pkg13/handler.go"}, "services/svc07/pkg13/handler.go"},
		{"suffix-1000-candidates", "go", incident.Frame{Path: "/build/services/svc07/pkg13/handler.go"}, "services/svc07/pkg13/handler.go"},
		{"symbol-tie-break", "go", incident.Frame{Path: "/app/pkg13/handler.go", Function: "main.Handle7"}, "services/svc07/pkg13/handler.go"},
		{"library", "go", incident.Frame{Path: "/usr/local/go/src/runtime/panic.go"}, ""},
	}
	for _, fr := range frames {
		b.Run(fr.name, func(b *testing.B) {
			if got := m.Map(fr.lang, "", fr.f); got.File != fr.want {
				b.Fatalf("Map = %q (%s), want %q", got.File, got.Reason, fr.want)
			}
			for b.Loop() {
				m.Map(fr.lang, "", fr.f)
			}
		})
	}
}
