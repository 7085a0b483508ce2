package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-dev/faultline/telemetry"
)

// BenchmarkPipeline profiles the mixed-log pipeline alone:
// go test ./bench -run '^$' -bench Pipeline -cpuprofile cpu.prof
func BenchmarkPipeline(b *testing.B) {
	dir := b.TempDir()
	ws, err := benchWorkspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "mixed.jsonl")
	if _, err := writeMixedLog(p, 20<<20, 7, crashStorm); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(p, nil)}, telemetry.Query{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineRare is BenchmarkPipeline on the production-like mix (1
// entry in 1,000 starts a crash), where reading and gating dominate.
func BenchmarkPipelineRare(b *testing.B) {
	dir := b.TempDir()
	ws, err := benchWorkspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "mixed.jsonl")
	if _, err := writeMixedLog(p, 100<<20, 3, crashRare); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(p, nil)}, telemetry.Query{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
