package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// The fake Loki runs in a child process (this binary, re-executed), so the
// heap measured here is the Loki source's alone, not the fake's copy of a
// million entries and the pages it builds.
const lokiChildEnv = "FAULTLINE_BENCH_LOKI_CHILD"

// lokiChild serves a lokitest.Server when this process is the child: it
// prints the URL on stdout and serves until stdin closes.
func lokiChild() bool {
	if os.Getenv(lokiChildEnv) != "1" {
		return false
	}
	srv := lokitest.New()
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
	return true
}

// startLokiChild starts the child and returns its URL and a stop function.
func startLokiChild(ctx context.Context) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), lokiChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, fmt.Errorf("fake loki stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, fmt.Errorf("fake loki stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start fake loki: %w", err)
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("read fake loki url: %w", err)
	}
	return strings.TrimSpace(url), stop, nil
}

const (
	lokiStreams     = 40
	lokiQueryLength = 10 * time.Second
)

// fillLoki pushes n entries over lokiStreams streams through the push
// endpoint (protobuf + snappy, as agents send), in batches.
func fillLoki(ctx context.Context, url string, n int) (time.Time, time.Time, error) {
	rng := rand.New(rand.NewPCG(3, 4))
	const batch = 20000
	ts := t0
	for done := 0; done < n; {
		byStream := make([][]push.Entry, lokiStreams)
		for i := 0; i < batch && done < n; i++ {
			s := rng.IntN(lokiStreams)
			svc := services[s%len(services)]
			byStream[s] = append(byStream[s], push.Entry{Timestamp: ts, Line: noiseLine(svc, rng, ts)})
			ts = ts.Add(time.Millisecond)
			done++
		}
		req := push.PushRequest{}
		for s, entries := range byStream {
			if len(entries) == 0 {
				continue
			}
			svc := services[s%len(services)]
			req.Streams = append(req.Streams, push.Stream{
				Labels:  fmt.Sprintf(`{env="prod", pod="%s-%d", service="%s"}`, svc.name, s, svc.name),
				Entries: entries,
			})
		}
		raw, err := req.Marshal()
		if err != nil {
			return ts, ts, fmt.Errorf("marshal push: %w", err)
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, raw)))
		if err != nil {
			return ts, ts, err
		}
		hr.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			return ts, ts, fmt.Errorf("push to fake loki: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return ts, ts, fmt.Errorf("push to fake loki: %s", resp.Status)
		}
	}
	return t0, ts, nil
}

// benchLoki measures one poll: the Loki source paging through every entry
// of the window with its default page size.
func benchLoki(ctx context.Context, _ string, sz sizes) ([]row, error) {
	url, stop, err := startLokiChild(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	progress("pushing %d entries to the fake Loki", sz.lokiEntries)
	from, to, err := fillLoki(ctx, url, sz.lokiEntries)
	if err != nil {
		return nil, err
	}
	// Queries of 10 s (10k entries each) in pages of 5000: the fake sorts
	// the whole queried window on every page request, which over one
	// window of a million entries would time the fake, not the client.
	src, err := telemetry.NewLoki(telemetry.LokiConfig{URL: url, MaxQueryLength: lokiQueryLength})
	if err != nil {
		return nil, err
	}
	progress("fetching them back")
	base := liveHeap()
	sampler := startHeapSampler()
	t0 := time.Now()
	got := 0
	st, err := src.Fetch(ctx, telemetry.Query{Start: from, End: to.Add(time.Second)}, func(incident.Event) error {
		got++
		return nil
	})
	took := time.Since(t0)
	peak := sub(sampler.Stop(), base)
	if err != nil {
		return nil, fmt.Errorf("fetch from fake loki: %w", err)
	}
	if got != sz.lokiEntries {
		return nil, fmt.Errorf("fetched %d entries, pushed %d", got, sz.lokiEntries)
	}
	return []row{{
		Name: fmt.Sprintf("Loki poll: %d entries over %d streams from the in-memory Loki (queries of %s, pages of 5000, fake in a child process, %.0f MB of responses)",
			got, lokiStreams, lokiQueryLength, float64(st.Bytes)/(1<<20)),
		Measured: fmt.Sprintf("%.1f s (%.0fk entries/s), peak heap %s", took.Seconds(), float64(got)/took.Seconds()/1000, mb(peak)),
	}}, nil
}
