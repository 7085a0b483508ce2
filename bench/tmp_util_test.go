package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/trace"
	"testing"

	"github.com/faultline-dev/faultline/telemetry"
)

func TestTmpTrace(t *testing.T) {
	dir := t.TempDir()
	ws, _ := benchWorkspace(dir)
	big := filepath.Join(dir, "big.jsonl")
	writeMixedLog(big, 100<<20, 3, crashRare)
	ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(big, nil)}, telemetry.Query{}, nil)
	f, err := os.Create("/tmp/trace.out")
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ws.Run(context.Background(), []telemetry.Source{telemetry.NewFileSource(big, nil)}, telemetry.Query{}, nil)
	}
	trace.Stop()
	f.Close()
}
