package telemetry

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/faultline-dev/faultline/incident"
)

func TestDetect(t *testing.T) {
	split := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	// series builds one point a minute: before values from split-len(before)
	// minutes, after values from split.
	series := func(before, after []float64) []model.SamplePair {
		var out []model.SamplePair
		for i, v := range before {
			out = append(out, model.SamplePair{Timestamp: model.TimeFromUnixNano(split.Add(time.Duration(i-len(before)) * time.Minute).UnixNano()), Value: model.SampleValue(v)})
		}
		for i, v := range after {
			out = append(out, model.SamplePair{Timestamp: model.TimeFromUnixNano(split.Add(time.Duration(i) * time.Minute).UnixNano()), Value: model.SampleValue(v)})
		}
		return out
	}
	noisy := []float64{0.20, 0.22, 0.19, 0.21, 0.20, 0.23, 0.18, 0.20, 0.21, 0.19}
	nan := math.NaN()
	tests := []struct {
		name          string
		before, after []float64
		floor         float64
		want          *anomaly // nil: no anomaly
	}{
		{"flat", []float64{1, 1, 1, 1, 1, 1}, []float64{1, 1, 1, 1}, 0, nil},
		{"noise within the baseline's spread", noisy, []float64{0.22, 0.18, 0.23, 0.21}, 0, nil},
		{"sustained spike", noisy, []float64{0.2, 0.21, 0.8, 0.82, 0.8, 0.79}, 0,
			&anomaly{Start: split.Add(2 * time.Minute), Level: 0.8, Baseline: 0.2}},
		{"one-point blip is not sustained", noisy, []float64{0.2, 0.9, 0.2, 0.21}, 0, nil},
		{"spike on the last point alone counts", noisy, []float64{0.2, 0.21, 0.9}, 0,
			&anomaly{Start: split.Add(2 * time.Minute), Level: 0.9, Baseline: 0.2}},
		{"outlier in the baseline does not hide a spike", []float64{0.2, 0.2, 5, 0.2, 0.21, 0.2, 0.19}, []float64{0.9, 0.9, 0.9}, 0,
			&anomaly{Start: split, Level: 0.9, Baseline: 0.2}},
		{"flat baseline: a rise under 10% is noise", []float64{1, 1, 1, 1, 1, 1}, []float64{1.05, 1.08, 1.06}, 0, nil},
		{"error-rate floor hides a tiny rise from zero", []float64{0, 0, 0, 0, 0, 0}, []float64{0.0004, 0.0005}, 0.001, nil},
		{"rise from zero above the floor", []float64{0, 0, 0, 0, 0, 0}, []float64{0.12, 0.12, 0.12}, 0.001,
			&anomaly{Start: split, Level: 0.12, Baseline: 0}},
		{"NaN points are skipped", []float64{0.2, nan, 0.2, 0.2, 0.2, 0.2}, []float64{nan, 1, 1}, 0,
			&anomaly{Start: split.Add(time.Minute), Level: 1, Baseline: 0.2}},
		{"too little baseline", []float64{0.2, 0.2}, []float64{1, 1}, 0, nil},
		{"a drop is not an anomaly", noisy, []float64{0.01, 0.01, 0.01}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := detect(series(tt.before, tt.after), split, 5, tt.floor)
			if tt.want == nil {
				if ok {
					t.Fatalf("detect found %+v, want no anomaly", got)
				}
				return
			}
			if !ok {
				t.Fatalf("detect found nothing, want %+v", *tt.want)
			}
			if !got.Start.Equal(tt.want.Start) || math.Abs(got.Level-tt.want.Level) > 1e-9 || math.Abs(got.Baseline-tt.want.Baseline) > 1e-9 {
				t.Fatalf("detect = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	for r, want := range map[float64]string{0.12: "12%", 0.001: "0.1%", 0.025: "2.5%", 0: "0%", 0.0005: "0.05%", 1: "100%"} {
		if got := percent(r); got != want {
			t.Errorf("percent(%v) = %q, want %q", r, got, want)
		}
	}
}

func TestPrometheusQueryTemplates(t *testing.T) {
	p, err := NewPrometheus(PrometheusConfig{URL: "http://127.0.0.1:1", ServiceLabel: "job", RateWindow: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	got := p.vars(incident.Incident{Service: `we"ird`, Env: "prod"}).Replace(DefaultErrorRateQueries[1])
	want := `(sum(rate(http_requests_total{job="we\"ird",env="prod",code=~"5.."}[2m])) or vector(0)) / sum(rate(http_requests_total{job="we\"ird",env="prod"}[2m]))`
	if got != want {
		t.Errorf("expanded query\n got %s\nwant %s", got, want)
	}
	got = p.vars(incident.Incident{Service: "checkout"}).Replace(DefaultLatencyQueries[0])
	want = `histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{job="checkout"}[2m])))`
	if got != want {
		t.Errorf("expanded query without env\n got %s\nwant %s", got, want)
	}
}

func TestPrometheusDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, err := NewPrometheus(PrometheusConfig{URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ev, err := p.Enrich(context.Background(), incident.Incident{Service: "checkout", FirstSeen: now.Add(-time.Hour), LastSeen: now})
	if err == nil {
		t.Fatalf("Enrich against a closed port = %v, nil; want an error", ev)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not say which server failed", err)
	}
}

// spikeStart is the minute the backfilled latency spike of checkout starts;
// the error spike of payments starts a minute later.
var spikeStart = time.Date(2025, 6, 2, 10, 41, 0, 0, time.UTC)

func TestPrometheusReal(t *testing.T) {
	url := startPrometheus(t, writeSeries)
	p, err := NewPrometheus(PrometheusConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	first := spikeStart.Add(time.Minute)
	tests := []struct {
		service string
		want    []incident.Evidence
	}{
		// OTel names; p99 goes from 0.199s (bucket 0.1-0.2) to 0.995s
		// (bucket 0.5-1): 5.0x.
		{"checkout", []incident.Evidence{{Kind: "metric", Text: "p99 latency 5.0x baseline from 10:41 (995ms, baseline 199ms)"}}},
		// Prometheus client names (the OTel queries find nothing first).
		{"payments", []incident.Evidence{{Kind: "metric", Text: "5xx rate 12% (baseline 0.1%) from 10:42"}}},
		{"catalog", nil}, // flat: no evidence
		{"ghost", nil},   // no series at all
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			inc := incident.Incident{Service: tt.service, Env: "prod", FirstSeen: first, LastSeen: first.Add(18 * time.Minute)}
			got, err := p.Enrich(context.Background(), inc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("evidence\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// startPrometheus backfills the series write produces into a temp data dir
// with promtool, starts the real prometheus binary on a free 127.0.0.1 port
// and returns its URL. It skips when the binaries are not installed.
func startPrometheus(t *testing.T, write func(w *bufio.Writer)) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	tool, err2 := exec.LookPath("promtool")
	if err != nil || err2 != nil {
		t.Skip("prometheus/promtool not installed (Debian package `prometheus`; .ci/run installs it): skipping the real-server test")
	}
	dir := t.TempDir()
	om := filepath.Join(dir, "series.om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	write(w)
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data := filepath.Join(dir, "data")
	began := time.Now()
	if out, err := exec.Command(tool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, out)
	}
	backfilled := time.Now()
	port := freePort(t)
	cmd := exec.Command(bin,
		"--config.file=testdata/prometheus/prometheus.yml",
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address=127.0.0.1:"+port,
		"--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	url := "http://127.0.0.1:" + port
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("promtool backfill %v, prometheus ready %v", backfilled.Sub(began).Round(time.Millisecond), time.Since(backfilled).Round(time.Millisecond))
				return url
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus not ready within 15s: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// writeSeries writes 15s samples from 08:00 to 11:30 in OpenMetrics:
//   - checkout, OTel names: 100 requests per sample, all in (0.1, 0.2]
//     until spikeStart, then all in (0.5, 1] until 11:10;
//   - payments, Prometheus client names: 1 5xx in 1000 requests, then 12%
//     from spikeStart+1m; latency flat;
//   - catalog, Prometheus client names: flat, a request count that varies.
func writeSeries(w *bufio.Writer) {
	from := spikeStart.Add(-161 * time.Minute) // 08:00
	to := spikeStart.Add(49 * time.Minute)     // 11:30
	les := []string{"0.1", "0.2", "0.5", "1", "2.5", "+Inf"}
	slowUntil := spikeStart.Add(29 * time.Minute)
	histogram := func(name, labels string, slow func(time.Time) bool) {
		for i, le := range les {
			var cum float64
			for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
				if i >= 1 && !slow(ts) || i >= 3 {
					cum += 100
				}
				fmt.Fprintf(w, "%s_bucket{%s,le=\"%s\"} %g %d\n", name, labels, le, cum, ts.Unix())
			}
		}
		var n float64
		for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
			n += 100
			fmt.Fprintf(w, "%s_count{%s} %g %d\n", name, labels, n, ts.Unix())
		}
	}
	never := func(time.Time) bool { return false }
	histogram("http_server_request_duration_seconds", `service="checkout",env="prod",http_response_status_code="200"`,
		func(ts time.Time) bool { return !ts.Before(spikeStart) && ts.Before(slowUntil) })
	histogram("http_request_duration_seconds", `service="payments",env="prod"`, never)
	histogram("http_request_duration_seconds", `service="catalog",env="prod"`, never)

	errStart := spikeStart.Add(time.Minute)
	counters := func(service string, perSample func(i int, ts time.Time) (ok, failed float64)) {
		var okN, failN float64
		var okLines, failLines []string
		i := 0
		for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
			o, f := perSample(i, ts)
			okN, failN = okN+o, failN+f
			okLines = append(okLines, fmt.Sprintf("http_requests_total{service=%q,env=\"prod\",code=\"200\"} %g %d", service, okN, ts.Unix()))
			failLines = append(failLines, fmt.Sprintf("http_requests_total{service=%q,env=\"prod\",code=\"500\"} %g %d", service, failN, ts.Unix()))
			i++
		}
		for _, l := range append(okLines, failLines...) {
			fmt.Fprintln(w, l)
		}
	}
	counters("payments", func(i int, ts time.Time) (float64, float64) {
		if !ts.Before(errStart) {
			return 88, 12
		}
		if i%10 == 0 {
			return 99, 1
		}
		return 100, 0
	})
	counters("catalog", func(i int, _ time.Time) (float64, float64) {
		return float64(90 + i*7%21), 0
	})
}
