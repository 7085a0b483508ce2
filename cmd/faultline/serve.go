package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline-dev/faultline/analysis/noise"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
)

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logFile := fs.String("log-file", "", "append the server log to this file")
	poll := fs.Duration("poll", 0, "poll interval (default: poll_interval from .faultline.yaml, else 30s)")
	window := fs.Duration("window", 0, "how far back backends are queried each poll (default: whole files, 24h for backends)")
	var sf sourceFlags
	sf.register(fs)
	prom := fs.String("prometheus", "", "Prometheus base URL: latency and 5xx anomalies around each incident as evidence")
	traces := fs.String("traces", "", "trace store tempo:URL or jaeger:URL: the failing span and service boundary as evidence")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var extra []config.Source
	for _, p := range sf.logs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("--logs %s: %w", p, err)
		}
		extra = append(extra, config.Source{Kind: "file", Path: abs})
	}
	for _, spec := range sf.sources {
		src, err := parseSourceSpec(spec, sf.selector)
		if err != nil {
			return err
		}
		extra = append(extra, src)
	}
	var deploys string
	if len(sf.deploys) > 0 {
		abs, err := filepath.Abs(sf.deploys[0])
		if err != nil {
			return fmt.Errorf("--deploys %s: %w", sf.deploys[0], err)
		}
		deploys = abs
	}
	labels, err := sf.defaultLabels()
	if err != nil {
		return err
	}
	enr, err := enrichers(*prom, *traces)
	if err != nil {
		return err
	}
	eng := newEngine(labels, *window)
	eng.enrichers = enr
	eng.prs = newPROpener(fixService)
	fixer := newLSPFixer(fixService)
	fixer.openPR = eng.prs.open
	fixer.llmFor = eng.llmFor
	opt := lsp.Options{
		Engine:        eng,
		Fixer:         fixer,
		Explain:       explainIncidentFrame,
		PreviewPrompt: previewPrompt,
		Impact:        noise.Severity,
		Snooze: func(root string, inc incident.Incident, until time.Time) error {
			return noise.AddSnooze(root, inc.ID, until, "snoozed from the editor: "+firstLine(inc.Message))
		},
		PollInterval: *poll,
		ExtraSources: extra,
		Deploys:      deploys,
	}
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		defer f.Close()
		opt.Log = f
	}
	return lsp.Serve(ctx, stdio{}, opt)
}

// stdio is the LSP stream: requests on stdin, replies on stdout.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	_ = os.Stdin.Close()
	return os.Stdout.Close()
}
