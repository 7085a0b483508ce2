package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline-dev/faultline/internal/batchgc"
	"github.com/faultline-dev/faultline/telemetry"
)

// BenchmarkPipeline profiles the mixed-log pipeline alone, on the crash
// storm mix:
// go test ./bench -run '^$' -bench Pipeline -cpuprofile cpu.prof
func BenchmarkPipeline(b *testing.B) { benchmarkPipeline(b, 20<<20, 7, crashStorm) }

// BenchmarkPipelineRare is BenchmarkPipeline on the production-like mix (1
// entry in 1,000 starts a crash), where reading and gating dominate.
func BenchmarkPipelineRare(b *testing.B) { benchmarkPipeline(b, 100<<20, 3, crashRare) }

func benchmarkPipeline(b *testing.B, size int64, seed uint64, crashRate float64) {
	dir := b.TempDir()
	ws, err := benchWorkspace(dir)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "mixed.jsonl")
	if _, err := writeMixedLog(p, size, seed, crashRate); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	defer batchgc.Tune()() // as `faultline check` runs it
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(p, nil)}, telemetry.Query{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
