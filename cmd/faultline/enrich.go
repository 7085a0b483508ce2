package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/telemetry"
)

// enrichers builds the metric and trace enrichers from the --prometheus URL
// and --traces KIND:URL flag values; empty values add none. Tokens come
// from the environment only (FAULTLINE_PROMETHEUS_TOKEN,
// FAULTLINE_TRACES_TOKEN), the tenant of a multi-tenant Tempo or Mimir from
// FAULTLINE_TRACES_ORG_ID and FAULTLINE_PROMETHEUS_ORG_ID.
func enrichers(prom, traces string) ([]analysis.Enricher, error) {
	var out []analysis.Enricher
	if prom != "" {
		p, err := telemetry.NewPrometheus(telemetry.PrometheusConfig{
			URL:   prom,
			Token: os.Getenv("FAULTLINE_PROMETHEUS_TOKEN"),
			OrgID: os.Getenv("FAULTLINE_PROMETHEUS_ORG_ID"),
		})
		if err != nil {
			return nil, fmt.Errorf("--prometheus: %w", err)
		}
		out = append(out, p)
	}
	if traces != "" {
		kind, url, err := parseTracesSpec(traces)
		if err != nil {
			return nil, err
		}
		t, err := telemetry.NewTraces(telemetry.TracesConfig{
			Kind:  kind,
			URL:   url,
			Token: os.Getenv("FAULTLINE_TRACES_TOKEN"),
			OrgID: os.Getenv("FAULTLINE_TRACES_ORG_ID"),
		})
		if err != nil {
			return nil, fmt.Errorf("--traces: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// parseTracesSpec reads --traces tempo:URL or jaeger:URL.
func parseTracesSpec(spec string) (kind, url string, err error) {
	kind, url, ok := strings.Cut(spec, ":")
	if !ok || url == "" || (kind != "tempo" && kind != "jaeger") {
		return "", "", fmt.Errorf("--traces %q: want tempo:URL or jaeger:URL, e.g. tempo:http://127.0.0.1:3200", spec)
	}
	return kind, url, nil
}
