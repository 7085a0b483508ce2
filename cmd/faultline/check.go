package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/noise"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/batchgc"
	"github.com/faultline-dev/faultline/telemetry"
)

// sourceFlags are the flags every command that reads telemetry shares.
type sourceFlags struct {
	logs     multiFlag
	sources  multiFlag
	deploys  multiFlag
	selector string
	since    time.Duration
	start    string
	end      string
	labels   multiFlag
	service  string
	env      string
	version  string
}

func (s *sourceFlags) register(fs *flag.FlagSet) {
	fs.Var(&s.logs, "logs", "log file: logcli jsonl, a saved Loki query_range response, or plain text (repeatable)")
	fs.Var(&s.sources, "source", "telemetry backend KIND:URL, e.g. loki:http://127.0.0.1:3100 (repeatable)")
	fs.Var(&s.deploys, "deploys", "deploy events jsonl (repeatable)")
	fs.StringVar(&s.selector, "selector", "", `LogQL stream selector for loki sources, e.g. '{service="checkout"}'`)
	fs.DurationVar(&s.since, "since", 24*time.Hour, "time window for backends, ending now")
	fs.StringVar(&s.start, "start", "", "window start (RFC3339), instead of --since")
	fs.StringVar(&s.end, "end", "", "window end (RFC3339)")
	fs.Var(&s.labels, "label", "label k=v for plain-text logs (repeatable)")
	fs.StringVar(&s.service, "service", "", "service label for plain-text logs")
	fs.StringVar(&s.env, "env", "", "env label for plain-text logs")
	fs.StringVar(&s.version, "version", "", "version label for plain-text logs")
}

// query returns the time window. File sources ignore it unless set
// explicitly: a saved log file is read whole.
func (s *sourceFlags) query(now time.Time) (telemetry.Query, error) {
	q := telemetry.Query{End: now, Start: now.Add(-s.since), Selector: s.selector}
	if s.start != "" {
		t, err := time.Parse(time.RFC3339, s.start)
		if err != nil {
			return q, fmt.Errorf("--start %q: want RFC3339, e.g. 2026-11-20T10:00:00Z", s.start)
		}
		q.Start = t
	}
	if s.end != "" {
		t, err := time.Parse(time.RFC3339, s.end)
		if err != nil {
			return q, fmt.Errorf("--end %q: want RFC3339", s.end)
		}
		q.End = t
	}
	return q, nil
}

func (s *sourceFlags) defaultLabels() (map[string]string, error) {
	l := map[string]string{}
	for _, kv := range s.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value", kv)
		}
		l[k] = v
	}
	for k, v := range map[string]string{incident.LabelService: s.service, incident.LabelEnv: s.env, incident.LabelVersion: s.version} {
		if v != "" {
			l[k] = v
		}
	}
	return telemetry.NormalizeLabels(l), nil
}

// configure adds the flags' sources and deploys to the workspace config.
// Paths on the command line are relative to the current directory.
func (s *sourceFlags) configure(cfg config.Config) (config.Config, []incident.Deploy, error) {
	for _, p := range s.logs {
		if _, err := os.Stat(p); err != nil {
			return cfg, nil, fmt.Errorf("--logs %s: %w", p, unwrapPathErr(err))
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return cfg, nil, fmt.Errorf("--logs %s: %w", p, err)
		}
		cfg.Sources = append(cfg.Sources, config.Source{Kind: "file", Path: abs})
	}
	for _, spec := range s.sources {
		src, err := parseSourceSpec(spec, s.selector)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Sources = append(cfg.Sources, src)
	}
	var deploys []incident.Deploy
	for _, p := range s.deploys {
		ds, err := readDeploys(p)
		if err != nil {
			return cfg, nil, err
		}
		deploys = append(deploys, ds...)
	}
	return cfg, deploys, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the repository (workspace root)")
	format := fs.String("format", "text", "output format: text or json")
	demo := fs.Bool("demo", false, "run on the embedded demo workspace (built into the user cache dir)")
	var sf sourceFlags
	sf.register(fs)
	prom := fs.String("prometheus", "", "Prometheus base URL: latency and 5xx anomalies around each incident as evidence")
	traces := fs.String("traces", "", "trace store tempo:URL or jaeger:URL: the failing span and service boundary as evidence")
	maxFixes := fs.Int("max-fixes", defaultMaxFixes, "propose and validate fixes for at most this many incidents, the most frequent first (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	defer batchgc.Tune()() // a batch run: see package batchgc
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	if *demo {
		d, err := buildDemo(ctx, "")
		if err != nil {
			return err
		}
		*repo = d.Root
		sf.logs = append(sf.logs, d.Logs)
		if d.Deploys != "" {
			sf.deploys = append(sf.deploys, d.Deploys)
		}
	}
	root, err := filepath.Abs(*repo)
	if err != nil {
		return fmt.Errorf("--repo %s: %w", *repo, err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return fmt.Errorf("--repo %s: not a directory", *repo)
	}
	cfg, err := config.Load(root)
	if err != nil {
		return err
	}
	cfg, flagDeploys, err := sf.configure(cfg)
	if err != nil {
		return err
	}
	if len(cfg.Sources) == 0 {
		return fmt.Errorf("no logs: give --logs FILE or --source KIND:URL, configure sources in %s, or try --demo", config.FileName)
	}
	labels, err := sf.defaultLabels()
	if err != nil {
		return err
	}
	srcs, deploys, problems := buildSources(root, cfg, labels)
	for _, p := range problems {
		if len(srcs) == 0 || !strings.HasPrefix(p.name, "deploys") {
			return fmt.Errorf("%s: %w", p.name, p.err)
		}
		fmt.Fprintf(stderr, "faultline: %s: %v\n", p.name, p.err)
	}
	deploys = append(deploys, flagDeploys...)
	q, err := sf.query(time.Now())
	if err != nil {
		return err
	}
	if len(sf.sources) == 0 && sf.start == "" && sf.end == "" {
		q = telemetry.Query{Selector: sf.selector} // files are read whole
	}
	ws, err := analysis.OpenWorkspace(root, pathOptions(cfg))
	if err != nil {
		return err
	}
	if ws.Enrichers, err = enrichers(*prom, *traces); err != nil {
		return err
	}
	extra, eproblems := configEnrichers(cfg)
	ws.Enrichers = append(ws.Enrichers, extra...)
	for _, p := range eproblems {
		fmt.Fprintf(stderr, "faultline: %s: %s\n", p.name, sanitize(p.err.Error()))
	}
	if ws.Repo == nil {
		fmt.Fprintf(stderr, "faultline: %s is not a git repository (%v): lines are shown as printed, without drift or suspect commits\n", root, ws.RepoErr)
	}
	res, _, err := ws.Run(ctx, srcs, q, deploys)
	if err != nil {
		return err
	}
	rules, err := noise.Load(root)
	if err != nil {
		return err
	}
	var hidden []noise.Hidden
	res.Incidents, hidden = noise.Filter(res.Incidents, rules, time.Now())
	if s := noise.Summary(hidden); s != "" {
		fmt.Fprintln(stderr, "faultline:", sanitize(s))
	}
	switch left := attachFixes(ctx, root, res.Incidents, *maxFixes); {
	case left > 0 && *maxFixes <= 0:
		fmt.Fprintf(stderr, "faultline: no fixes proposed (--max-fixes %d) for %d incidents fixable by code\n", *maxFixes, left)
	case left > 0:
		fmt.Fprintf(stderr, "faultline: fixes proposed for the %d most frequent incidents fixable by code, not for %d more (--max-fixes N to change)\n", *maxFixes, left)
	}
	lf, err := newLLMFixer(cfg.LLM)
	if err != nil {
		return err
	}
	report := func(msg string) { fmt.Fprintln(stderr, "faultline:", sanitize(msg)) }
	attachLLMFixes(ctx, root, lf, res.Incidents, report)
	attachLLMSummaries(ctx, lf, res.Incidents, report)
	for _, p := range res.Stats.Problems {
		fmt.Fprintln(stderr, "faultline:", sanitize(p))
	}
	if *format == "json" {
		return writeJSON(stdout, res.Incidents)
	}
	return writeText(stdout, root, res)
}

func writeJSON(w io.Writer, incs []incident.Incident) error {
	if incs == nil {
		incs = []incident.Incident{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Incidents []incident.Incident `json:"incidents"`
	}{incs})
}
