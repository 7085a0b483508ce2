package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	panicparse "github.com/maruel/panicparse/v2/stack"

	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/analysis/stack/stacktest"
	"github.com/faultline-dev/faultline/incident"
)

// parseGoDump does what the reassembler does with a dump that arrives one
// log entry per line: every line becomes a string, Start opens the block,
// Continue extends it, and the block is handed to Parse. It returns the
// traces found.
func parseGoDump(dump []byte) []incident.Trace {
	var p stack.Parser = stack.Go{}
	var traces []incident.Trace
	var block []string
	for len(dump) > 0 {
		i := bytes.IndexByte(dump, '\n')
		if i < 0 {
			i = len(dump)
		}
		line := string(dump[:i])
		dump = dump[min(i+1, len(dump)):]
		if block != nil && p.Continue(block, line) {
			block = append(block, line)
			continue
		}
		if block != nil {
			traces = append(traces, p.Parse(block))
			block = nil
		}
		if p.Start(line) {
			block = []string{line}
		}
	}
	if block != nil {
		traces = append(traces, p.Parse(block))
	}
	return traces
}

// checkGoTrace verifies that the parser found the panicking goroutine with
// its top frame, so the speed is that of a correct parse.
func checkGoTrace(traces []incident.Trace) error {
	if len(traces) != 1 {
		return fmt.Errorf("Go parser found %d traces in the dump, want 1", len(traces))
	}
	tr := traces[0]
	if tr.Goroutine != stacktest.PanickingGoroutine || len(tr.Frames) == 0 || !strings.HasSuffix(tr.Frames[0].Function, "Total") {
		return fmt.Errorf("Go parser picked goroutine %d with %d frames, want goroutine %d at cart.(*Cart).Total",
			tr.Goroutine, len(tr.Frames), stacktest.PanickingGoroutine)
	}
	return nil
}

// benchGoParse compares our Go parser with panicparse on the same dump.
func benchGoParse(_ context.Context, _ string, sz sizes) ([]row, error) {
	dump := stacktest.GoDump(sz.goroutines)
	if err := checkGoTrace(parseGoDump(dump)); err != nil {
		return nil, err
	}
	snap, _, err := panicparse.ScanSnapshot(bytes.NewReader(dump), io.Discard, &panicparse.Opts{})
	if snap == nil || len(snap.Goroutines) != sz.goroutines+1 {
		return nil, fmt.Errorf("panicparse did not read the dump (%v)", err)
	}
	var failure error
	ours := testing.Benchmark(func(b *testing.B) {
		b.SetBytes(int64(len(dump)))
		for b.Loop() {
			if tr := parseGoDump(dump); len(tr) != 1 {
				failure = fmt.Errorf("%d traces", len(tr))
			}
		}
	})
	theirs := testing.Benchmark(func(b *testing.B) {
		b.SetBytes(int64(len(dump)))
		for b.Loop() {
			// The cheapest options: no argument naming, path guessing or
			// source analysis; only the scan we compare with.
			s, _, _ := panicparse.ScanSnapshot(bytes.NewReader(dump), io.Discard, &panicparse.Opts{})
			if s == nil {
				failure = fmt.Errorf("panicparse returned no snapshot")
			}
		}
	})
	if failure != nil {
		return nil, failure
	}
	a := mbps(int64(len(dump)), time.Duration(ours.NsPerOp()))
	p := mbps(int64(len(dump)), time.Duration(theirs.NsPerOp()))
	ratio := a / p
	return []row{{
		Name: fmt.Sprintf("Go dump parsing (GOTRACEBACK=all, %d goroutines, %.1f MB): Start/Continue/Parse per line",
			sz.goroutines+1, float64(len(dump))/(1<<20)),
		Measured: fmt.Sprintf("%.0f MB/s, %d allocs/op", a, ours.AllocsPerOp()),
		Baseline: fmt.Sprintf("panicparse/v2 ScanSnapshot %.0f MB/s, %d allocs/op", p, theirs.AllocsPerOp()),
		Ratio:    fmt.Sprintf("%.1fx", ratio),
		Target:   ">= 3x",
		Met:      met(ratio >= 3),
	}}, nil
}
