package correlator

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the correlator's Prometheus series, on a registry of its own
// so that several correlators in one test process do not collide.
type metrics struct {
	reg        *prometheus.Registry
	polls      prometheus.Counter
	pollErrors prometheus.Counter
	ingested   prometheus.Counter
	incidents  prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		polls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_correlator_polls_total", Help: "Polls of the telemetry backends.",
		}),
		pollErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_correlator_poll_errors_total", Help: "Polls that failed or read a backend only partly.",
		}),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_correlator_occurrences_ingested_total", Help: "Occurrences stored for the first time by this process.",
		}),
		incidents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_correlator_incidents", Help: "Incidents in the store after the last poll.",
		}),
	}
	m.reg.MustRegister(m.polls, m.pollErrors, m.ingested, m.incidents,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
