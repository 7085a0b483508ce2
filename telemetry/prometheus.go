package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/faultline-dev/faultline/incident"
)

// Query templates. Placeholders: {{matchers}} (the service and env label
// matchers, e.g. service="checkout",env="prod"), {{service}}, {{env}} (the
// bare values), {{quantile}} and {{rate}} (the rate window). A template
// writes `metric{{{matchers}}}` for `metric{service="checkout"}`.
//
// The defaults cover the OpenTelemetry HTTP semantic conventions as
// Prometheus receives them (http.server.request.duration becomes
// http_server_request_duration_seconds; the older http.server.duration in
// milliseconds) and the Prometheus client libraries' conventions
// (http_request_duration_seconds, http_requests_total{code}).
var (
	DefaultLatencyQueries = []string{
		`histogram_quantile({{quantile}}, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{matchers}}}[{{rate}}])))`,
		`histogram_quantile({{quantile}}, sum by (le) (rate(http_request_duration_seconds_bucket{{{matchers}}}[{{rate}}])))`,
		`histogram_quantile({{quantile}}, sum by (le) (rate(http_server_duration_milliseconds_bucket{{{matchers}}}[{{rate}}])))`,
	}
	// The 5xx side is `or vector(0)` so that a service without a single
	// 5xx still has a rate (0) rather than no data.
	DefaultErrorRateQueries = []string{
		`(sum(rate(http_server_request_duration_seconds_count{{{matchers}},http_response_status_code=~"5.."}[{{rate}}])) or vector(0)) / sum(rate(http_server_request_duration_seconds_count{{{matchers}}}[{{rate}}]))`,
		`(sum(rate(http_requests_total{{{matchers}},code=~"5.."}[{{rate}}])) or vector(0)) / sum(rate(http_requests_total{{{matchers}}}[{{rate}}]))`,
		`(sum(rate(http_server_duration_milliseconds_count{{{matchers}},http_status_code=~"5.."}[{{rate}}])) or vector(0)) / sum(rate(http_server_duration_milliseconds_count{{{matchers}}}[{{rate}}]))`,
	}
)

// PrometheusConfig configures the metrics enricher. Token comes from the
// environment (FAULTLINE_PROMETHEUS_TOKEN), never from the workspace config.
type PrometheusConfig struct {
	URL string // base URL, e.g. http://127.0.0.1:9090
	// LatencyQueries and ErrorRateQueries are tried in order; the first
	// that returns data is used. Defaults: DefaultLatencyQueries,
	// DefaultErrorRateQueries.
	LatencyQueries   []string
	ErrorRateQueries []string
	// ServiceLabel and EnvLabel name the labels {{matchers}} uses
	// (default "service" and "env"). The env matcher is left out when the
	// incident has no env.
	ServiceLabel string
	EnvLabel     string
	Quantile     float64       // latency quantile, default 0.99
	RateWindow   time.Duration // rate() window, default 5m
	// Baseline is how much history before the incident is "normal"
	// (default 1h). Lead is how long before the first logged error the
	// metrics may already move (default 10m): it belongs to the
	// incident, not to the baseline. Tail extends the window past the
	// last error (default 10m).
	Baseline, Lead, Tail time.Duration
	// Sensitivity is the robust z-score (distance from the baseline
	// median in scaled MADs) above which a point is anomalous; default 5.
	Sensitivity float64
	OrgID       string // X-Scope-OrgID for Mimir/Cortex
	Token       string // bearer token
	HTTPClient  *http.Client
}

// Prometheus attaches latency and error-rate anomalies around an incident
// as evidence. It implements analysis.Enricher.
type Prometheus struct {
	cfg  PrometheusConfig
	base *url.URL
	api  promv1.API
}

// NewPrometheus checks cfg and fills in defaults.
func NewPrometheus(cfg PrometheusConfig) (*Prometheus, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus url %q: want http(s)://host[:port]", redactURL(cfg.URL))
	}
	if len(cfg.LatencyQueries) == 0 {
		cfg.LatencyQueries = DefaultLatencyQueries
	}
	if len(cfg.ErrorRateQueries) == 0 {
		cfg.ErrorRateQueries = DefaultErrorRateQueries
	}
	cfg.ServiceLabel = cmp.Or(cfg.ServiceLabel, incident.LabelService)
	cfg.EnvLabel = cmp.Or(cfg.EnvLabel, incident.LabelEnv)
	if cfg.Quantile <= 0 || cfg.Quantile >= 1 {
		cfg.Quantile = 0.99
	}
	cfg.RateWindow = durOr(cfg.RateWindow, 5*time.Minute)
	cfg.Baseline = durOr(cfg.Baseline, time.Hour)
	cfg.Lead = durOr(cfg.Lead, 10*time.Minute)
	cfg.Tail = durOr(cfg.Tail, 10*time.Minute)
	if cfg.Sensitivity <= 0 {
		cfg.Sensitivity = 5
	}
	rt := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		rt = cfg.HTTPClient.Transport
	}
	client, err := api.NewClient(api.Config{Address: u.String(), RoundTripper: headerTransport{rt, cfg.OrgID, cfg.Token}})
	if err != nil {
		return nil, fmt.Errorf("prometheus client %s: %w", u.Redacted(), err)
	}
	return &Prometheus{cfg: cfg, base: u, api: promv1.NewAPI(client)}, nil
}

// Name is "prometheus:" and the URL without credentials.
func (p *Prometheus) Name() string { return "prometheus:" + p.base.Redacted() }

// window is the time range looked at for one incident: the baseline is
// [Start, Split), the incident [Split, End].
type window struct {
	Start, Split, End time.Time
	Step              time.Duration
}

func (p *Prometheus) window(inc incident.Incident) window {
	split := inc.FirstSeen.Add(-p.cfg.Lead)
	last := inc.LastSeen
	if last.Before(inc.FirstSeen) {
		last = inc.FirstSeen
	}
	end := last.Add(p.cfg.Tail)
	start := split.Add(-p.cfg.Baseline)
	// About 250 points whatever the span, on a 15s grid so that the
	// points fall on round times ("from 10:41", not "from 10:40:53").
	step := end.Sub(start) / 250
	step = max(15*time.Second, (step+15*time.Second-1)/(15*time.Second)*(15*time.Second))
	return window{Start: start.Truncate(step), Split: split, End: end, Step: step}
}

// Enrich implements analysis.Enricher. An incident without a service, or a
// service without metrics, yields no evidence; an unreachable server or a
// rejected query is an error.
func (p *Prometheus) Enrich(ctx context.Context, inc incident.Incident) ([]incident.Evidence, error) {
	if inc.Service == "" || inc.FirstSeen.IsZero() {
		return nil, nil
	}
	w := p.window(inc)
	vars := p.vars(inc)
	var out []incident.Evidence
	for _, sig := range []struct {
		queries []string
		text    func(expr string, a anomaly, loc *time.Location) string
		floor   float64 // smallest absolute change worth reporting
	}{
		{p.cfg.LatencyQueries, p.latencyText, 0},
		{p.cfg.ErrorRateQueries, errorRateText, 0.001},
	} {
		expr, m, err := p.firstWithData(ctx, sig.queries, vars, w)
		if err != nil {
			return out, err
		}
		best, ok := strongest(m, w.Split, p.cfg.Sensitivity, sig.floor)
		if ok {
			out = append(out, incident.Evidence{Kind: "metric", Text: sig.text(expr, best, inc.FirstSeen.Location())})
		}
	}
	return out, nil
}

// vars are the template placeholders for one incident.
func (p *Prometheus) vars(inc incident.Incident) *strings.Replacer {
	matchers := fmt.Sprintf(`%s="%s"`, p.cfg.ServiceLabel, promEscape(inc.Service))
	if inc.Env != "" {
		matchers += fmt.Sprintf(`,%s="%s"`, p.cfg.EnvLabel, promEscape(inc.Env))
	}
	return strings.NewReplacer(
		"{{matchers}}", matchers,
		"{{service}}", promEscape(inc.Service),
		"{{env}}", promEscape(inc.Env),
		"{{quantile}}", strconv.FormatFloat(p.cfg.Quantile, 'g', -1, 64),
		"{{rate}}", model.Duration(p.cfg.RateWindow).String(),
	)
}

// firstWithData runs the templates in order and returns the first result
// holding at least one point.
func (p *Prometheus) firstWithData(ctx context.Context, templates []string, vars *strings.Replacer, w window) (string, model.Matrix, error) {
	for _, t := range templates {
		expr := vars.Replace(t)
		v, _, _, err := p.api.QueryRange(ctx, expr, promv1.Range{Start: w.Start, End: w.End, Step: w.Step})
		if err != nil {
			return "", nil, fmt.Errorf("query prometheus %s: %s: %w", p.base.Redacted(), expr, err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return "", nil, fmt.Errorf("query prometheus %s: %s: want a matrix, got %s", p.base.Redacted(), expr, v.Type())
		}
		for _, s := range m {
			if len(s.Values) > 0 {
				return expr, m, nil
			}
		}
	}
	return "", nil, nil
}

func (p *Prometheus) latencyText(expr string, a anomaly, loc *time.Location) string {
	q := "p" + strconv.FormatFloat(p.cfg.Quantile*100, 'g', -1, 64)
	unit := time.Second
	if strings.Contains(expr, "milliseconds") {
		unit = time.Millisecond
	}
	level := roundDuration(time.Duration(a.Level * float64(unit)))
	base := roundDuration(time.Duration(a.Baseline * float64(unit)))
	if a.Baseline <= 0 {
		return fmt.Sprintf("%s latency %s (baseline 0) from %s", q, level, a.Start.In(loc).Format("15:04"))
	}
	return fmt.Sprintf("%s latency %.1fx baseline from %s (%s, baseline %s)", q, a.Level/a.Baseline, a.Start.In(loc).Format("15:04"), level, base)
}

func errorRateText(_ string, a anomaly, loc *time.Location) string {
	return fmt.Sprintf("5xx rate %s (baseline %s) from %s", percent(a.Level), percent(a.Baseline), a.Start.In(loc).Format("15:04"))
}

// anomaly is a sustained rise of a series above its baseline.
type anomaly struct {
	Start    time.Time
	Level    float64 // median of the anomalous run
	Baseline float64 // median of the baseline
}

// strongest finds the anomaly with the largest rise over its baseline
// among the series of m.
func strongest(m model.Matrix, split time.Time, k, floor float64) (anomaly, bool) {
	var best anomaly
	found := false
	for _, s := range m {
		a, ok := detect(s.Values, split, k, floor)
		if ok && (!found || a.Level-a.Baseline > best.Level-best.Baseline) {
			best, found = a, true
		}
	}
	return best, found
}

// minBaselinePoints is the least history that makes a median meaningful.
const minBaselinePoints = 5

// detect compares the points at or after split with the baseline before
// it. The baseline is summarised robustly, by its median and its median
// absolute deviation (scaled by 1.4826 to estimate a standard deviation),
// so that a few outliers in the baseline neither hide nor fake an anomaly.
// A point is anomalous when it lies more than k scaled MADs above the
// median, and at least floor (absolute) and 10% (relative) above it, so
// that a perfectly flat baseline (MAD 0) does not turn noise into
// anomalies. The anomaly starts at the first run of two anomalous points
// (one when only one point is left) and lasts while they stay anomalous.
func detect(points []model.SamplePair, split time.Time, k, floor float64) (anomaly, bool) {
	var base []float64
	var cur []model.SamplePair
	for _, pt := range points {
		v := float64(pt.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if pt.Timestamp.Time().Before(split) {
			base = append(base, v)
		} else {
			cur = append(cur, pt)
		}
	}
	if len(base) < minBaselinePoints || len(cur) == 0 {
		return anomaly{}, false
	}
	med := median(base)
	dev := make([]float64, len(base))
	for i, v := range base {
		dev[i] = math.Abs(v - med)
	}
	scale := 1.4826 * median(dev)
	threshold := med + max(k*scale, floor, 0.1*math.Abs(med), 1e-12)
	high := func(i int) bool { return float64(cur[i].Value) > threshold }
	for i := range cur {
		if !high(i) || (i+1 < len(cur) && !high(i+1)) {
			continue
		}
		var run []float64
		for j := i; j < len(cur) && high(j); j++ {
			run = append(run, float64(cur[j].Value))
		}
		return anomaly{Start: cur[i].Timestamp.Time(), Level: median(run), Baseline: med}, true
	}
	return anomaly{}, false
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percent renders a ratio with the precision its size deserves: 12%,
// 2.5%, 0.1%, 0.05%.
func percent(r float64) string {
	p := r * 100
	var s string
	switch {
	case p >= 10:
		s = strconv.FormatFloat(p, 'f', 0, 64)
	case p >= 1:
		s = strconv.FormatFloat(p, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(p, 'f', 2, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// promEscape escapes a label value for a double-quoted PromQL string.
func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// headerTransport adds the tenant and bearer headers to every request.
type headerTransport struct {
	next  http.RoundTripper
	orgID string
	token string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.orgID == "" && t.token == "" {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	if t.orgID != "" {
		r.Header.Set("X-Scope-OrgID", t.orgID)
	}
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.next.RoundTrip(r)
}

func durOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
