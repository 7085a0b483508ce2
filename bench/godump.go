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
	"github.com/faultline-dev/faultline/incident"
)

// panickingGoroutine is the id of the goroutine that panics in goDump; the
// parser must pick it out of the others.
const panickingGoroutine = 4242

// goDump builds a GOTRACEBACK=all dump the way a busy HTTP service dies: a
// nil-pointer panic on one goroutine, then n goroutines parked in net/http,
// database/sql and sync machinery, each with arguments, pc offsets and a
// "created by" line, as the Go runtime prints them.
func goDump(n int) []byte {
	var b bytes.Buffer
	b.WriteString("panic: runtime error: invalid memory address or nil pointer dereference\n")
	b.WriteString("[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x8a1f4e]\n\n")
	fmt.Fprintf(&b, "goroutine %d [running]:\n", panickingGoroutine)
	b.WriteString("github.com/acme/shop/cart.(*Cart).Total(0x0)\n\t/app/cart/cart.go:42 +0x2e\n")
	b.WriteString("github.com/acme/shop/api.(*Server).checkout(0xc0001a2000, {0xb3c1e8, 0xc0002a4000}, 0xc0002b6000)\n\t/app/api/checkout.go:77 +0x1b8\n")
	b.WriteString("net/http.HandlerFunc.ServeHTTP(0xc000190010?, {0xb3c1e8?, 0xc0002a4000?}, 0x0?)\n\t/usr/local/go/src/net/http/server.go:2220 +0x29\n")
	b.WriteString("created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3360 +0x485\n")
	states := []string{"IO wait", "select", "chan receive, 12 minutes", "sync.Mutex.Lock", "semacquire, 3 minutes"}
	for g := 0; g < n; g++ {
		fmt.Fprintf(&b, "\ngoroutine %d [%s]:\n", g+5, states[g%len(states)])
		b.WriteString("runtime.gopark(0xc00012fa18?, 0x2?, 0x0?, 0x0?, 0xc00012f9e4?)\n\t/usr/local/go/src/runtime/proc.go:435 +0xce\n")
		b.WriteString("runtime.selectgo(0xc00012fa18, 0xc00012f9e0, 0x0?, 0x0, 0x0?, 0x1)\n\t/usr/local/go/src/runtime/select.go:351 +0x837\n")
		for d := 0; d < 4+g%6; d++ {
			fmt.Fprintf(&b, "github.com/acme/shop/worker%d.(*Pool).loop%d(0xc0001b%04x, {0xb3c1e8, 0xc0002a4000})\n", d, d, g)
			fmt.Fprintf(&b, "\t/app/worker%d/pool.go:%d +0x%x\n", d, 40+d*7, 0x1b8+g%200)
		}
		b.WriteString("database/sql.(*DB).connectionOpener(0xc0000f2000, {0xb3c220, 0xc0000b4050})\n\t/usr/local/go/src/database/sql/sql.go:1261 +0x87\n")
		fmt.Fprintf(&b, "created by github.com/acme/shop/worker0.Start in goroutine %d\n\t/app/worker0/start.go:18 +0x10f\n", 1+g%7)
	}
	b.WriteString("exit status 2\n")
	return b.Bytes()
}

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
	if tr.Goroutine != panickingGoroutine || len(tr.Frames) == 0 || !strings.HasSuffix(tr.Frames[0].Function, "Total") {
		return fmt.Errorf("Go parser picked goroutine %d with %d frames, want goroutine %d at cart.(*Cart).Total",
			tr.Goroutine, len(tr.Frames), panickingGoroutine)
	}
	return nil
}

// benchGoParse compares our Go parser with panicparse on the same dump.
func benchGoParse(_ context.Context, _ string, sz sizes) ([]row, error) {
	dump := goDump(sz.goroutines)
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
