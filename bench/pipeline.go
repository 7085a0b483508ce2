package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/batchgc"
	"github.com/faultline-dev/faultline/telemetry"
)

// benchPipeline measures the whole path a `faultline check` takes over a
// mixed log (file source, reassembly, parsing, grouping, path mapping)
// against a bare line scan of the same file, then the heap at 1x and 4x the
// events with the same incidents.
func benchPipeline(ctx context.Context, dir string, sz sizes) ([]row, error) {
	ws, err := benchWorkspace(dir)
	if err != nil {
		return nil, err
	}
	big := filepath.Join(dir, "mixed-4x.jsonl")
	small := filepath.Join(dir, "mixed-1x.jsonl")
	progress("generating %d MB and %d MB mixed logs", sz.mixedBytes>>20, sz.memBaseBytes>>20)
	bigLines, err := writeMixedLog(big, sz.mixedBytes, 1, crashStorm)
	if err != nil {
		return nil, err
	}
	smallLines, err := writeMixedLog(small, sz.memBaseBytes, 2, crashStorm)
	if err != nil {
		return nil, err
	}
	rare := filepath.Join(dir, "mixed-rare.jsonl")
	rareLines, err := writeMixedLog(rare, sz.mixedBytes, 3, crashRare)
	if err != nil {
		return nil, err
	}
	storm, size, err := pipelineThroughput(ctx, ws, big)
	if err != nil {
		return nil, err
	}
	calm, rareSize, err := pipelineThroughput(ctx, ws, rare)
	if err != nil {
		return nil, err
	}
	rows := []row{
		storm.row(fmt.Sprintf("Mixed-log pipeline, crash storm: file source → reassembly → parsing → grouping → path mapping (%d MB logcli jsonl, %d entries, 200 streams, 1 entry in 50 starts a crash, %d incidents%s)",
			size>>20, bigLines, storm.incidents, expectNote(storm.incidents)), bigLines),
		calm.row(fmt.Sprintf("Mixed-log pipeline, production-like: same path (%d MB, %d entries, 1 entry in 1,000 starts a crash, %d incidents)",
			rareSize>>20, rareLines, calm.incidents), rareLines),
	}

	progress("pipeline heap at 1x and 4x events")
	m1, err := pipelineMemory(ctx, ws, small)
	if err != nil {
		return nil, err
	}
	m4, err := pipelineMemory(ctx, ws, big)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("1x = %d MB / %d entries, 4x = %d MB / %d entries; %d and %d incidents",
		sz.memBaseBytes>>20, smallLines, size>>20, bigLines, m1.incidents, m4.incidents)
	liveRatio := float64(m4.live) / float64(max(m1.live, 1))
	peakRatio := float64(m4.peak) / float64(max(m1.peak, 1))
	rows = append(rows, row{
		Name:     "Pipeline live heap after reading all entries, after GC (" + label + ")",
		Measured: "4x: " + mb(m4.live),
		Baseline: "1x: " + mb(m1.live),
		Ratio:    fmt.Sprintf("%.2fx", liveRatio),
		Target:   "bounded by incidents: <= 1.5x",
		Met:      met(liveRatio <= 1.5),
	}, row{
		Name:     "Pipeline peak heap during the run (sampled every 2 ms, includes garbage not yet collected)",
		Measured: "4x: " + mb(m4.peak),
		Baseline: "1x: " + mb(m1.peak),
		Ratio:    fmt.Sprintf("%.2fx", peakRatio),
		Target:   "bounded by incidents: <= 1.5x",
		Met:      met(peakRatio <= 1.5),
	})
	return rows, nil
}

// throughput is the pipeline against the bare scan of the same file: the
// fastest of several runs of each, taken in turns, so that a slow moment of
// a shared machine does not land on one side only.
type throughput struct {
	pipe, scan     time.Duration
	allocsPerEntry float64
	size           int64
	incidents      int
}

// throughputRounds is how many runs of each side a row takes the fastest of.
const throughputRounds = 5

func (t throughput) row(name string, entries int) row {
	scanRate := mbps(t.size, t.scan)
	pipeRate := mbps(t.size, t.pipe)
	share := pipeRate / scanRate
	return row{
		Name:     name,
		Measured: fmt.Sprintf("%.0f MB/s, %.1f allocs/entry", pipeRate, t.allocsPerEntry),
		Baseline: fmt.Sprintf("bufio line scan %.0f MB/s", scanRate),
		Ratio:    fmt.Sprintf("%.0f%%", share*100),
		Target:   ">= 25%",
		Met:      met(share >= 0.25),
	}
}

// pipelineThroughput times `faultline check`'s path over the file at path
// and a bare line scan of it, in the same run: one warm-up of each, then
// throughputRounds runs of each in turns, keeping the fastest.
func pipelineThroughput(ctx context.Context, ws *analysis.Workspace, path string) (throughput, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return throughput{}, 0, fmt.Errorf("stat mixed log: %w", err)
	}
	t := throughput{size: info.Size(), pipe: math.MaxInt64, scan: math.MaxInt64}
	progress("bare line scan and pipeline over %d MB, fastest of %d runs each", t.size>>20, throughputRounds)
	run := func() (analysis.Result, error) {
		defer batchgc.Tune()() // as `faultline check` runs it
		res, _, err := ws.Run(ctx, []telemetry.Source{telemetry.NewFileSource(path, nil)}, telemetry.Query{}, nil)
		return res, err
	}
	entries, err := lineScan(path) // warm-up: the page cache, the code
	if err != nil {
		return throughput{}, 0, err
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := run()
	runtime.ReadMemStats(&after)
	if err != nil {
		return throughput{}, 0, fmt.Errorf("pipeline run: %w", err)
	}
	t.incidents = len(res.Incidents)
	t.allocsPerEntry = float64(after.Mallocs-before.Mallocs) / float64(max(entries, 1))
	for range throughputRounds {
		start := time.Now()
		if _, err := lineScan(path); err != nil {
			return throughput{}, 0, err
		}
		t.scan = min(t.scan, time.Since(start))
		start = time.Now()
		if _, err := run(); err != nil {
			return throughput{}, 0, fmt.Errorf("pipeline run: %w", err)
		}
		t.pipe = min(t.pipe, time.Since(start))
	}
	return t, t.size, nil
}

func expectNote(n int) string {
	if n == distinctIncidents {
		return ""
	}
	return fmt.Sprintf(", generator wrote %d distinct crashes", distinctIncidents)
}

// benchWorkspace writes the workspace the crash templates point into and
// indexes it as `faultline check` does.
func benchWorkspace(dir string) (*analysis.Workspace, error) {
	root := filepath.Join(dir, "workspace")
	for name, text := range workspaceFiles() {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("write workspace: %w", err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("write workspace: %w", err)
		}
	}
	return analysis.OpenWorkspace(root, pathmap.Options{})
}

// lineScan is the limit any reader of the file approaches: bufio lines and
// nothing else.
func lineScan(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

type memResult struct {
	live, peak uint64
	incidents  int
}

// pipelineMemory runs the pipeline over path, measuring the heap it holds
// once every entry has been read (the Analyzer still alive, garbage
// collected) and the highest heap in use during the run, both above the
// heap before it started.
func pipelineMemory(ctx context.Context, ws *analysis.Workspace, path string) (memResult, error) {
	cfg := analysis.Config{Root: ws.Root, Mapper: ws.Mapper}
	defer batchgc.Tune()() // as `faultline check` runs it: the peak heap a user meets
	base := liveHeap()
	sampler := startHeapSampler()
	a := analysis.New(cfg)
	if _, err := telemetry.NewFileSource(path, nil).Fetch(ctx, telemetry.Query{}, func(e incident.Event) error {
		a.Add(e)
		return nil
	}); err != nil {
		sampler.Stop()
		return memResult{}, fmt.Errorf("read %s: %w", path, err)
	}
	live := liveHeap()
	res, err := a.Incidents(ctx)
	peak := sampler.Stop()
	runtime.KeepAlive(a)
	if err != nil {
		return memResult{}, err
	}
	return memResult{live: sub(live, base), peak: sub(peak, base), incidents: len(res.Incidents)}, nil
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
