package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/correlator"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

// correlatorFile is the --config file of `faultline correlator`. Flags
// given on the command line override it. Secrets are not read from it: the
// API token comes from FAULTLINE_CORRELATOR_TOKEN, Loki credentials from
// their usual variables.
type correlatorFile struct {
	Listen   string            `yaml:"listen"`
	Store    string            `yaml:"store"` // sqlite:PATH | postgres:DSN
	Poll     config.Duration   `yaml:"poll"`
	Backfill config.Duration   `yaml:"backfill"`
	Overlap  config.Duration   `yaml:"overlap"`
	Settle   config.Duration   `yaml:"settle"`
	Selector string            `yaml:"selector"`
	Repos    []correlatorRepo  `yaml:"repos"`
	Sources  []config.Source   `yaml:"sources"`
	Deploys  []string          `yaml:"deploys"`
	Labels   map[string]string `yaml:"labels"` // for plain-text log files
}

type correlatorRepo struct {
	Name        string            `yaml:"name"`
	Dir         string            `yaml:"dir"`
	Services    []string          `yaml:"services"`
	ServiceDirs map[string]string `yaml:"service_dirs"`
	PathRules   []config.PathRule `yaml:"path_rules"`
}

const correlatorTokenEnv = "FAULTLINE_CORRELATOR_TOKEN"

func runCorrelator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("correlator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "correlator config file (YAML)")
	listen := fs.String("listen", "", "address to serve the API on (default 127.0.0.1:8480)")
	var repos, sources, logs, deploys multiFlag
	fs.Var(&repos, "repo", "repository DIR for every service, or SERVICE=DIR (repeatable)")
	fs.Var(&sources, "source", "telemetry backend KIND:URL, e.g. loki:http://127.0.0.1:3100 (repeatable)")
	fs.Var(&logs, "logs", "log file, read whole every poll (repeatable)")
	fs.Var(&deploys, "deploys", "deploy events jsonl (repeatable)")
	storeSpec := fs.String("store", "", "sqlite:PATH or postgres:DSN (default: SQLite under the user cache dir)")
	poll := fs.Duration("poll", 0, "poll interval (default 30s)")
	backfill := fs.Duration("backfill", 0, "how far back the first poll reads (default 24h)")
	settle := fs.String("settle", "", "leave entries younger than this for the next poll (default 10s; 0 for none)")
	selector := fs.String("selector", "", "LogQL stream selector for loki sources")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var file correlatorFile
	if *cfgPath != "" {
		b, err := os.ReadFile(*cfgPath)
		if err != nil {
			return fmt.Errorf("read config %s: %w", *cfgPath, unwrapPathErr(err))
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("read config %s: %w", *cfgPath, err)
		}
		file.resolvePaths(filepath.Dir(*cfgPath))
	}
	settleD := time.Duration(-1)
	if *settle != "" {
		d, err := time.ParseDuration(*settle)
		if err != nil || d < 0 {
			return fmt.Errorf("--settle %q: want a duration such as 10s", *settle)
		}
		settleD = d
	}
	file.override(*listen, *storeSpec, *selector, *poll, *backfill, settleD)
	if err := file.addFlags(repos, sources, logs, deploys); err != nil {
		return err
	}
	token := os.Getenv(correlatorTokenEnv)
	if token == "" {
		return fmt.Errorf("set %s: the API serves production errors and needs a bearer token", correlatorTokenEnv)
	}
	return serveCorrelator(ctx, file, token, stdout, stderr)
}

// override applies flags over the file.
func (f *correlatorFile) override(listen, storeSpec, selector string, poll, backfill, settle time.Duration) {
	if listen != "" {
		f.Listen = listen
	}
	if f.Listen == "" {
		f.Listen = "127.0.0.1:8480"
	}
	if storeSpec != "" {
		f.Store = storeSpec
	}
	if selector != "" {
		f.Selector = selector
	}
	for _, o := range []struct {
		flag time.Duration
		dst  *config.Duration
	}{{poll, &f.Poll}, {backfill, &f.Backfill}} {
		if o.flag > 0 {
			*o.dst = config.Duration(o.flag)
		}
	}
	if settle >= 0 {
		f.Settle = config.Duration(settle)
		if settle == 0 {
			f.Settle = config.Duration(-1) // explicit zero: no settle delay
		}
	}
}

func (f *correlatorFile) addFlags(repos, sources, logs, deploys []string) error {
	for _, r := range repos {
		svc, dir, ok := strings.Cut(r, "=")
		if !ok {
			svc, dir = "", r
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("--repo %s: %w", dir, err)
		}
		cr := correlatorRepo{Name: filepath.Base(abs), Dir: abs}
		if svc != "" {
			cr.Name, cr.Services = svc, []string{svc}
		}
		f.Repos = append(f.Repos, cr)
	}
	for _, spec := range sources {
		s, err := parseSourceSpec(spec, f.Selector)
		if err != nil {
			return err
		}
		f.Sources = append(f.Sources, s)
	}
	for _, p := range logs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("--logs %s: %w", p, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--logs %s: %w", p, unwrapPathErr(err))
		}
		f.Sources = append(f.Sources, config.Source{Kind: "file", Path: abs})
	}
	for _, p := range deploys {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("--deploys %s: %w", p, err)
		}
		f.Deploys = append(f.Deploys, abs)
	}
	if len(f.Repos) == 0 {
		return fmt.Errorf("no repository: give --repo DIR or repos in the config file")
	}
	// No source is fine: agents may push every entry (/loki/api/v1/push,
	// /v1/logs) instead of the correlator polling a backend.
	return nil
}

// resolvePaths makes the file's relative paths relative to its folder.
func (f *correlatorFile) resolvePaths(dir string) {
	for i := range f.Repos {
		f.Repos[i].Dir = resolve(dir, f.Repos[i].Dir)
		if f.Repos[i].Name == "" {
			f.Repos[i].Name = filepath.Base(f.Repos[i].Dir)
		}
	}
	for i, s := range f.Sources {
		if s.Kind == "file" || s.Kind == "" {
			f.Sources[i].Path = resolve(dir, s.Path)
		}
	}
	for i, d := range f.Deploys {
		f.Deploys[i] = resolve(dir, d)
	}
	if rest, ok := strings.CutPrefix(f.Store, "sqlite:"); ok && rest != "" {
		f.Store = "sqlite:" + resolve(dir, rest)
	}
}

func (f *correlatorFile) config(st store.Store, token string, logf func(string, ...any)) (correlator.Config, error) {
	cfg := correlator.Config{
		Store: st, Token: token, Selector: f.Selector, Logf: logf,
		Poll: time.Duration(f.Poll), Backfill: time.Duration(f.Backfill),
		Overlap: time.Duration(f.Overlap), Settle: time.Duration(f.Settle),
	}
	for _, r := range f.Repos {
		opt := pathmap.Options{ServiceDirs: r.ServiceDirs}
		for _, pr := range r.PathRules {
			opt.Rules = append(opt.Rules, pathmap.Rule{From: pr.From, To: pr.To})
		}
		cfg.Repos = append(cfg.Repos, correlator.Repo{Name: r.Name, Root: r.Dir, Options: opt, Services: r.Services})
	}
	labels := f.Labels
	for _, s := range f.Sources {
		src, err := newSource("", s, labels)
		if err != nil {
			return cfg, fmt.Errorf("source %s: %w", s.Name(), err)
		}
		cfg.Inputs = append(cfg.Inputs, correlator.Input{Source: src, Windowed: s.Kind != "file" && s.Kind != ""})
	}
	paths := f.Deploys
	cfg.Deploys = func(context.Context) ([]incident.Deploy, error) {
		var all []incident.Deploy
		var errs []error
		for _, p := range paths {
			ds, err := readDeploys(p)
			errs = append(errs, err)
			all = append(all, ds...)
		}
		return all, errors.Join(errs...)
	}
	return cfg, nil
}

// serveCorrelator opens the store, starts the poller and serves the API
// until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func serveCorrelator(ctx context.Context, f correlatorFile, token string, stdout, stderr io.Writer) error {
	logger := log.New(stderr, "faultline correlator: ", log.LstdFlags)
	st, err := store.Open(ctx, f.Store, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	cfg, err := f.config(st, token, logger.Printf)
	if err != nil {
		return err
	}
	c, err := correlator.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.Listen, err)
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	// The address line is what scripts and tests wait for.
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go c.Run(ctx)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}
