package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
)

// Doctor statuses. A warning is worth reading but does not stop Faultline
// from showing incidents; a failure does.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

// probeTimeout bounds each reachability probe: the doctor answers quickly
// rather than sitting through a backend's retries.
const probeTimeout = 10 * time.Second

type checkRow struct{ check, status, detail, fix string }

// doctor collects check results; each check adds rows.
type doctor struct{ rows []checkRow }

func (d *doctor) add(check, status, detail, fix string) {
	d.rows = append(d.rows, checkRow{check, status, detail, fix})
}

// runDoctor checks the whole path from backend to editor: the workspace,
// every source (reachable, credentials accepted, entries in the window,
// stack traces among them, traces that map into the workspace), the deploy
// events and the optional metric and trace backends. It prints one row per
// check with a fix for each problem, and fails when a check failed.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the repository (workspace root)")
	prom := fs.String("prometheus", "", "Prometheus base URL to check, e.g. http://127.0.0.1:9090")
	traces := fs.String("traces", "", "trace store to check: tempo:URL or jaeger:URL")
	var sf sourceFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d := &doctor{}
	if root, cfg, ws, ok := d.workspace(ctx, *repo); ok {
		d.sources(ctx, root, cfg, ws, &sf)
	}
	if *prom != "" {
		d.prometheus(ctx, *prom)
	}
	if *traces != "" {
		d.traceStore(ctx, *traces)
	}
	d.print(stdout)
	failed := 0
	for _, r := range d.rows {
		if r.status == statusFail {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(d.rows))
	}
	return nil
}

func (d *doctor) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL\tFIX")
	for _, r := range d.rows {
		fix := r.fix
		if r.status == statusOK {
			fix = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.check, r.status, oneLine(r.detail), oneLine(fix))
	}
	tw.Flush()
}

// workspace checks the folder, .faultline.yaml and git. It reports false
// when the source checks cannot run.
func (d *doctor) workspace(ctx context.Context, repo string) (string, config.Config, *analysis.Workspace, bool) {
	root, err := filepath.Abs(repo)
	if st, serr := os.Stat(root); err != nil || serr != nil || !st.IsDir() {
		d.add("workspace", statusFail, repo+" is not a directory", "pass the repository with --repo DIR")
		return "", config.Config{}, nil, false
	}
	cfg, err := config.Load(root)
	switch {
	case err != nil:
		d.add("config", statusFail, err.Error(), "fix "+config.FileName+" at the line named (see the README for the schema)")
		return "", cfg, nil, false
	case fileExists(filepath.Join(root, config.FileName)):
		d.add("config", statusOK, config.FileName+" is valid", "")
	default:
		d.add("config", statusOK, "no "+config.FileName+": defaults, sources from flags", "")
	}
	ws, err := analysis.OpenWorkspace(root, pathOptions(cfg))
	if err != nil {
		d.add("workspace", statusFail, err.Error(), "check that the folder is readable")
		return "", cfg, nil, false
	}
	if ws.Repo == nil {
		d.add("git", statusWarn, fmt.Sprintf("%s is not a git repository: %v", root, ws.RepoErr),
			"run in a clone of the service's repository: without git, lines are shown as printed, with no drift or suspect commits")
		return root, cfg, ws, true
	}
	snap, err := ws.Repo.Snapshot(ctx)
	if err != nil {
		d.add("git", statusWarn, "no HEAD commit: "+err.Error(), "commit once: lines are carried from the deployed commit to HEAD")
		return root, cfg, ws, true
	}
	d.add("git", statusOK, "HEAD "+snap.Head()[:12], "")
	return root, cfg, ws, true
}

// sources checks each configured source and the deploy events.
func (d *doctor) sources(ctx context.Context, root string, cfg config.Config, ws *analysis.Workspace, sf *sourceFlags) {
	cfg, flagDeploys, err := sf.configure(cfg)
	if err != nil {
		d.add("flags", statusFail, err.Error(), "fix the flag named")
		return
	}
	labels, err := sf.defaultLabels()
	if err != nil {
		d.add("flags", statusFail, err.Error(), "fix the flag named")
		return
	}
	q, err := sf.query(time.Now())
	if err != nil {
		d.add("flags", statusFail, err.Error(), "fix the flag named")
		return
	}
	window := "between " + q.Start.Format(time.RFC3339) + " and " + q.End.Format(time.RFC3339)
	if sf.start == "" && sf.end == "" {
		window = "in the last " + shortDuration(sf.since)
	}
	if len(cfg.Sources) == 0 {
		d.add("sources", statusFail, "no log source configured",
			"give --logs FILE or --source loki:URL, or add sources to "+config.FileName)
	}
	for _, s := range cfg.Sources {
		sq, swindow := q, window
		if s.Kind == config.KindFile || s.Kind == "" {
			if sf.start == "" && sf.end == "" {
				sq, swindow = telemetry.Query{Selector: sf.selector}, "in the file" // files are read whole
			}
		}
		d.source(ctx, root, s, ws, labels, sq, swindow)
	}
	d.deploys(root, cfg, sf.deploys, flagDeploys)
}

// source checks one log source from reachability down to path mapping.
func (d *doctor) source(ctx context.Context, root string, s config.Source, ws *analysis.Workspace, labels map[string]string, q telemetry.Query, window string) {
	name := s.Name()
	switch s.Kind {
	case config.KindLoki:
		if !d.probeLoki(ctx, name, s, q) {
			return
		}
	case config.KindFile, "":
		p := s.Path
		if p == "" {
			p = s.URL
		}
		if _, err := os.Stat(resolve(root, p)); err != nil {
			d.add(name, statusFail, "cannot read: "+unwrapPathErr(err).Error(), "fix the path (relative paths are relative to the workspace root)")
			return
		}
	}
	src, err := newSource(root, s, labels)
	if err != nil {
		d.add(name, statusFail, err.Error(), "fix the source in "+config.FileName+" or on the command line")
		return
	}
	res, fetched, err := ws.Run(ctx, []telemetry.Source{src}, q, nil)
	if err != nil {
		d.add(name, statusFail, err.Error(), "")
		return
	}
	if len(fetched) == 1 && fetched[0].Err != nil {
		d.add(name+": query", statusFail, fetched[0].Err.Error(), "check the backend's logs; retry with a narrower window (--since)")
		return
	}
	var st telemetry.Stats
	if len(fetched) == 1 {
		st = fetched[0].Stats
	}
	if st.Entries == 0 {
		d.add(name+": entries", statusFail, "no entries "+window,
			"widen --since (or --start/--end) or check the selector; the services must log to this source")
		return
	}
	detail := fmt.Sprintf("%d entries %s", st.Entries, window)
	if st.Malformed > 0 {
		d.add(name+": entries", statusWarn, fmt.Sprintf("%s, %d malformed and skipped (%s)", detail, st.Malformed, strings.Join(st.FirstProblems, "; ")),
			"check the log format: logcli jsonl, a Loki query_range response, or plain text")
	} else {
		d.add(name+": entries", statusOK, detail, "")
	}
	d.incidents(name, res.Incidents)
}

// incidents checks that stack traces were found and map into the workspace.
func (d *doctor) incidents(name string, incs []incident.Incident) {
	if len(incs) == 0 {
		d.add(name+": stack traces", statusWarn, "entries hold no stack trace Faultline can parse",
			"if the service did crash, make sure its panics/exceptions reach this stream whole: no line filter (a trace's lines are separate entries), no sampling of error logs")
		return
	}
	d.add(name+": stack traces", statusOK, fmt.Sprintf("%d incidents", len(incs)), "")
	mapped := 0
	var example string
	for _, inc := range incs {
		if inc.Location != nil {
			if mapped == 0 {
				example = fmt.Sprintf("%s:%d", inc.Location.File, inc.Location.Line)
			}
			mapped++
		}
	}
	if mapped == 0 {
		d.add(name+": mapping", statusFail, "traces found but none map into this workspace",
			"add path_rules (see faultline explain), or open the service's own repository")
		return
	}
	d.add(name+": mapping", statusOK, fmt.Sprintf("%d of %d incidents map into the workspace (e.g. %s)", mapped, len(incs), example), "")
}

// probeLoki asks Loki for one entry, once, to tell an unreachable server
// and refused credentials apart from an empty window, without the
// retries a poll makes.
func (d *doctor) probeLoki(ctx context.Context, name string, s config.Source, q telemetry.Query) bool {
	sel := s.Selector
	if sel == "" {
		sel = telemetry.DefaultSelector
	}
	params := url.Values{"query": {sel}, "limit": {"1"}, "direction": {"forward"},
		"start": {fmt.Sprint(q.Start.UnixNano())}, "end": {fmt.Sprint(q.End.UnixNano())}}
	h := http.Header{}
	if s.OrgID != "" {
		h.Set("X-Scope-OrgID", s.OrgID)
	}
	token := os.Getenv("FAULTLINE_LOKI_TOKEN")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	req := strings.TrimSuffix(s.URL, "/") + "/loki/api/v1/query_range?" + params.Encode()
	status, body, err := probe(ctx, req, h, func(r *http.Request) {
		if u, p := os.Getenv("FAULTLINE_LOKI_USER"), os.Getenv("FAULTLINE_LOKI_PASSWORD"); token == "" && (u != "" || p != "") {
			r.SetBasicAuth(u, p)
		}
	})
	return d.probeResult(name, "Loki", status, body, err, token != "",
		"set FAULTLINE_LOKI_TOKEN (or FAULTLINE_LOKI_USER and FAULTLINE_LOKI_PASSWORD)",
		"start Loki or fix the URL (--source loki:URL, or url: in "+config.FileName+")")
}

// probeResult turns one probe into reachable and auth rows, and says
// whether the backend answered 200.
func (d *doctor) probeResult(name, what string, status int, body []byte, err error, hadCreds bool, credFix, downFix string) bool {
	if err != nil {
		d.add(name+": reachable", statusFail, err.Error(), downFix)
		return false
	}
	d.add(name+": reachable", statusOK, fmt.Sprintf("%s answered", what), "")
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		fix := credFix
		if hadCreds {
			fix = "the credentials were refused: check them and the tenant (org_id)"
		}
		d.add(name+": auth", statusFail, fmt.Sprintf("%d from %s", status, what), fix)
		return false
	case status != http.StatusOK:
		d.add(name+": query", statusFail, fmt.Sprintf("%d from %s: %s", status, what, clipBody(body)),
			"check the URL (a proxy path prefix?) and the selector")
		return false
	}
	d.add(name+": auth", statusOK, "accepted", "")
	return true
}

// probe makes one GET within probeTimeout and returns the status and the
// start of the body.
func probe(ctx context.Context, rawURL string, h http.Header, edit func(*http.Request)) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("bad url %s: %w", redactedURL(rawURL), err)
	}
	req.Header = h
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		where := *req.URL
		where.RawQuery = ""
		return 0, nil, fmt.Errorf("cannot reach %s: %w", where.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, nil
}

// prometheus checks the metrics backend and that it holds HTTP metrics the
// enricher's default queries know.
func (d *doctor) prometheus(ctx context.Context, base string) {
	name := "prometheus " + redactedURL(base)
	h := http.Header{}
	token := os.Getenv("FAULTLINE_PROMETHEUS_TOKEN")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	metrics := `count by (__name__) ({__name__=~"http_server_request_duration_seconds_bucket|http_request_duration_seconds_bucket|http_server_duration_milliseconds_bucket|http_requests_total"})`
	status, body, err := probe(ctx, strings.TrimSuffix(base, "/")+"/api/v1/query?query="+url.QueryEscape(metrics), h, nil)
	if !d.probeResult(name, "Prometheus", status, body, err, token != "", "set FAULTLINE_PROMETHEUS_TOKEN", "start Prometheus or fix --prometheus") {
		return
	}
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		d.add(name+": metrics", statusFail, "not a Prometheus query API answer: "+err.Error(), "point --prometheus at Prometheus' base URL")
		return
	}
	var names []string
	for _, r := range resp.Data.Result {
		names = append(names, r.Metric["__name__"])
	}
	if len(names) == 0 {
		d.add(name+": metrics", statusWarn, "none of the HTTP metrics the enricher queries exists",
			"export OTel http.server.request.duration or Prometheus client http_request_duration_seconds/http_requests_total, with a service label")
		return
	}
	d.add(name+": metrics", statusOK, strings.Join(names, ", "), "")
}

// traceStore checks that Tempo or Jaeger answers.
func (d *doctor) traceStore(ctx context.Context, spec string) {
	kind, base, err := parseTracesSpec(spec)
	if err != nil {
		d.add("traces", statusFail, err.Error(), "use --traces tempo:URL or jaeger:URL")
		return
	}
	name := kind + " " + redactedURL(base)
	path := "/api/echo" // Tempo
	if kind == "jaeger" {
		path = "/api/services"
	}
	h := http.Header{}
	token := os.Getenv("FAULTLINE_TRACES_TOKEN")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if org := os.Getenv("FAULTLINE_TRACES_ORG_ID"); org != "" {
		h.Set("X-Scope-OrgID", org)
	}
	status, body, err := probe(ctx, strings.TrimSuffix(base, "/")+path, h, nil)
	d.probeResult(name, kind, status, body, err, token != "", "set FAULTLINE_TRACES_TOKEN", "start "+kind+" or fix --traces")
}

// deploys checks the deploy events files.
func (d *doctor) deploys(root string, cfg config.Config, flagFiles []string, flagDeploys []incident.Deploy) {
	total := len(flagDeploys)
	if cfg.Deploys != "" {
		ds, err := readDeploys(resolve(root, cfg.Deploys))
		if err != nil {
			d.add("deploys "+cfg.Deploys, statusFail, err.Error(),
				"fix the file: one JSON object per line with timestamp, service, env, version, commit")
			return
		}
		total += len(ds)
	}
	if cfg.Deploys == "" && len(flagFiles) == 0 {
		d.add("deploys", statusWarn, "no deploy events", "give --deploys FILE or deploys: in "+config.FileName+": suspects are then tied to the deploy before each incident")
		return
	}
	if total == 0 {
		d.add("deploys", statusWarn, "the deploy files hold no events", "append one line per deploy")
		return
	}
	d.add("deploys", statusOK, fmt.Sprintf("%d deploy events", total), "")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func clipBody(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable url)"
}
