// Command bench measures what Faultline's users feel and prints one Markdown
// table of the results, each as a ratio against a baseline measured in the
// same run on the same machine, so the numbers can be compared across
// machines without knowing how fast each one is:
//
//	go run ./bench            # full run, a few minutes on 2 cores
//	go run ./bench -quick     # smaller inputs, under a minute
//	go run ./bench -out FILE  # also write the table to FILE
//	go run ./bench -only pipeline  # one section
//
// Every input is generated into a temporary directory and removed at the
// end. Progress goes to stderr; stdout holds only the table. See
// bench/README.md for what each row measures and why.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// sizes are the inputs of one run; -quick shrinks them.
type sizes struct {
	goroutines   int   // goroutines in the Go dump
	mixedBytes   int64 // the mixed log of the throughput row (4x of the memory rows)
	memBaseBytes int64 // the 1x log of the memory rows
	lspFiles     int
	lspIncidents []int // resident heap rows; the first one also drives the latencies
	lspSamples   int   // requests per latency row
	lokiEntries  int
	commits      int // the history of the blame row
}

var (
	full  = sizes{2000, 200 << 20, 50 << 20, 2000, []int{10000, 100000}, 2000, 1000000, 5000}
	quick = sizes{2000, 20 << 20, 5 << 20, 2000, []int{10000, 100000}, 300, 100000, 1000}
)

func main() {
	if lokiChild() {
		return
	}
	quickFlag := flag.Bool("quick", false, "smaller inputs (~20 MB log, 100k Loki entries); under a minute")
	out := flag.String("out", "", "also write the table to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	only := flag.String("only", "", "run only the sections whose name contains this (e.g. pipeline, LSP)")
	flag.Parse()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sz, mode := full, "full"
	if *quickFlag {
		sz, mode = quick, "quick"
	}
	table, err := runAll(ctx, sz, mode, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench: write table:", err)
			os.Exit(1)
		}
	}
}

// runAll runs every section in order and renders the table.
func runAll(ctx context.Context, sz sizes, mode, only string) (string, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "faultline-bench-")
	if err != nil {
		return "", fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var rows []row
	sections := []struct {
		name string
		run  func(context.Context, string, sizes) ([]row, error)
	}{
		{"Go dump parsing", benchGoParse},
		{"mixed-log pipeline", benchPipeline},
		{"LSP", benchLSP},
		{"Loki poll", benchLoki},
		{"blame", benchBlame},
	}
	for _, s := range sections {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if !strings.Contains(strings.ToLower(s.name), strings.ToLower(only)) {
			continue
		}
		progress("%s ...", s.name)
		t0 := time.Now()
		r, err := s.run(ctx, dir, sz)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		progress("%s done in %s", s.name, time.Since(t0).Round(time.Second))
		rows = append(rows, r...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Faultline benchmarks (`go run ./bench%s`, %s, %s/%s, %d CPUs, %s, %s total)\n\n",
		map[bool]string{true: " -quick"}[mode == "quick"], runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), cpuModel(), time.Since(start).Round(time.Second))
	render(&b, rows)
	return b.String(), nil
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// cpuModel names the processor (Linux only), so a table says what it was
// measured on.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "unknown CPU"
}
