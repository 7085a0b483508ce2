package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/scenario"
)

// entry is one line of logcli's --output jsonl.
type entry struct {
	Labels    map[string]string `json:"labels"`
	Line      string            `json:"line"`
	Timestamp string            `json:"timestamp"`

	at  time.Time
	seq int
}

// deployEvent is one line of deploys.jsonl (design §3).
type deployEvent struct {
	Timestamp string `json:"timestamp"`
	Service   string `json:"service"`
	Env       string `json:"env"`
	Version   string `json:"version,omitempty"`
	Commit    string `json:"commit,omitempty"`
}

// timeline collects entries and orders them like logcli would.
type timeline struct {
	rng     *rand.Rand
	entries []entry
}

func (t *timeline) add(at time.Time, labels map[string]string, line string) {
	t.entries = append(t.entries, entry{Labels: labels, Line: line, at: at, seq: len(t.entries)})
}

// renderLogs lays the runs out from CrashAt on, a few minutes apart, one
// entry per output line a few milliseconds apart, and weaves noise from
// other streams around and into them.
func renderLogs(s *scenario.Scenario, shas map[string]string, runs []runOutput) []entry {
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	t := &timeline{rng: rand.New(rand.NewPCG(h.Sum64(), 7))}
	order := t.rng.Perm(len(runs))
	n := newNoise(s, shas, t.rng)
	labels := s.Labels(s.Deployed().VersionOf(shas))
	at := s.Meta.CrashAt
	for _, i := range order {
		r := runs[i]
		start := at
		for _, l := range splitLines(r.Stdout + r.Stderr) {
			t.add(at, labels, l)
			at = at.Add(time.Duration(1+t.rng.IntN(4))*time.Millisecond + time.Duration(t.rng.IntN(900))*time.Microsecond)
		}
		for k := 0; k < 2; k++ { // other streams write while the trace is printed
			n.other(t, start.Add(time.Duration(t.rng.Int64N(int64(at.Sub(start)+1)))))
		}
		at = at.Add(2*time.Minute + time.Duration(t.rng.IntN(420))*time.Second)
	}
	// Noise from shortly before the deploy (or 45 minutes before the first
	// crash, when the deploy is long past) to shortly after the last crash.
	from := s.Deployed().At.Add(-10 * time.Minute)
	if early := s.Meta.CrashAt.Add(-45 * time.Minute); from.Before(early) {
		from = early
	}
	for ts := from; ts.Before(at.Add(5 * time.Minute)); {
		n.one(t, ts)
		ts = ts.Add(time.Duration(3+t.rng.IntN(40))*time.Second + time.Duration(t.rng.IntN(1000))*time.Millisecond)
	}
	sort.SliceStable(t.entries, func(i, j int) bool {
		if !t.entries[i].at.Equal(t.entries[j].at) {
			return t.entries[i].at.Before(t.entries[j].at)
		}
		return t.entries[i].seq < t.entries[j].seq
	})
	if s.Meta.Order == "backward" {
		for i, j := 0, len(t.entries)-1; i < j; i, j = i+1, j-1 {
			t.entries[i], t.entries[j] = t.entries[j], t.entries[i]
		}
	}
	for i := range t.entries {
		t.entries[i].Timestamp = t.entries[i].at.UTC().Format(time.RFC3339Nano)
	}
	return t.entries
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, strings.TrimRight(l, "\r"))
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

// renderDeploys writes the scenario's deploys plus one of an unrelated
// service, in time order.
func renderDeploys(s *scenario.Scenario, shas map[string]string) []deployEvent {
	var out []deployEvent
	for _, d := range s.Meta.Deploys {
		if d.NoEvent {
			continue
		}
		ev := deployEvent{Timestamp: d.At.UTC().Format(time.RFC3339), Service: s.Meta.Service, Env: s.Meta.Env,
			Version: d.VersionOf(shas)}
		if d.EventVersion != "" {
			ev.Version = d.EventVersion
		}
		if d.RecordCommit || d.CommitOnly {
			ev.Commit = shas[d.Commit]
		}
		out = append(out, ev)
	}
	other := deployEvent{Timestamp: s.Deployed().At.Add(-3*time.Hour - 17*time.Minute).UTC().Format(time.RFC3339),
		Service: "payments", Env: s.Meta.Env, Version: "v2.8.1", Commit: "4f1c2a9e0b7d3c5a8e6f1b2d4c9a7e3f5b8d1c6a"}
	out = append(out, other)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp < out[j].Timestamp })
	return out
}

// noise produces the entries of other streams: the gateway's access log,
// the service's own request log, another service's unrelated errors and a
// worker's JSON lines.
type noise struct {
	s            *scenario.Scenario
	rng          *rand.Rand
	own          map[string]string // service labels at the deployed version
	old          map[string]string // service labels at the previous version
	deploy       time.Time
	gw, pay, idx map[string]string
}

func newNoise(s *scenario.Scenario, shas map[string]string, rng *rand.Rand) *noise {
	deps := s.Meta.Deploys
	oldV := deps[0].VersionOf(shas)
	if len(deps) > 1 {
		oldV = deps[len(deps)-2].VersionOf(shas)
	}
	other := func(svc, ver string) map[string]string {
		l := map[string]string{s.Label("service"): svc, s.Label("env"): s.Meta.Env, s.Label("version"): ver}
		for k, v := range s.Meta.ExtraLabels {
			l[k] = v
		}
		return l
	}
	return &noise{s: s, rng: rng, own: s.Labels(s.Deployed().VersionOf(shas)), old: s.Labels(oldV),
		deploy: s.Deployed().At, gw: other("gateway", "1.25.4"), pay: other("payments", "v2.8.1"),
		idx: other("search-indexer", "v0.19.0")}
}

var paths = []string{"/api/cart", "/api/orders/8812", "/api/products?page=2", "/healthz", "/api/users/me",
	"/api/checkout", "/metrics", "/api/inventory/sku-1042", "/static/app.js"}

func (n *noise) pick(xs []string) string { return xs[n.rng.IntN(len(xs))] }

func (n *noise) one(t *timeline, at time.Time) { n.pickLine(t, at, n.rng.IntN(10)) }

// other adds an entry of a stream other than the service's own: what lands
// in the middle of a trace being printed.
func (n *noise) other(t *timeline, at time.Time) {
	k := n.rng.IntN(7)
	if k >= 4 {
		k += 3
	}
	n.pickLine(t, at, k)
}

func (n *noise) pickLine(t *timeline, at time.Time, k int) {
	switch {
	case k < 4:
		status := n.pick([]string{"200", "200", "200", "204", "304", "404", "502"})
		t.add(at, n.gw, fmt.Sprintf(`10.42.%d.%d - - [%s] "GET %s HTTP/1.1" %s %d "-" "Mozilla/5.0 (X11; Linux x86_64)" rt=0.%03d`,
			n.rng.IntN(8), 2+n.rng.IntN(250), at.UTC().Format("02/Jan/2006:15:04:05 -0700"), n.pick(paths), status,
			120+n.rng.IntN(4000), n.rng.IntN(400)))
	case k < 7:
		labels := n.own
		if at.Before(n.deploy) {
			labels = n.old
		}
		t.add(at, labels, n.ownLine(at))
	case k < 8:
		t.add(at, n.pay, fmt.Sprintf(`time=%s level=ERROR msg="charge failed" provider=stripe order_id=%d err="card_declined: insufficient funds"`,
			at.UTC().Format(time.RFC3339Nano), 100000+n.rng.IntN(900000)))
	default:
		t.add(at, n.idx, fmt.Sprintf(`{"level":"info","ts":%.6f,"logger":"indexer","caller":"indexer/batch.go:88","msg":"batch indexed","docs":%d,"took_ms":%d}`,
			float64(at.UnixMicro())/1e6, 50+n.rng.IntN(900), 5+n.rng.IntN(300)))
	}
}

// ownLine is an ordinary request log line of the scenario's service, in the
// style its language's frameworks print.
func (n *noise) ownLine(at time.Time) string {
	p, ms := n.pick(paths), 1+n.rng.IntN(80)
	switch n.s.Meta.Language {
	case "python":
		return fmt.Sprintf(`%s INFO [%s.views] "GET %s HTTP/1.1" 200 %dms`, at.UTC().Format("2006-01-02 15:04:05,000"), n.s.Meta.Service, p, ms)
	case "node":
		return fmt.Sprintf(`{"level":30,"time":%d,"pid":1,"hostname":"%s-7d9f8","req":{"method":"GET","url":"%s"},"res":{"statusCode":200},"responseTime":%d,"msg":"request completed"}`,
			at.UnixMilli(), n.s.Meta.Service, p, ms)
	case "java":
		return fmt.Sprintf(`%s  INFO 1 --- [nio-8080-exec-%d] c.a.%s.web.RequestLogger : GET %s 200 (%d ms)`,
			at.UTC().Format("2006-01-02 15:04:05.000"), 1+n.rng.IntN(9), n.s.Meta.Service, p, ms)
	default:
		return fmt.Sprintf(`time=%s level=INFO msg="request served" method=GET path=%s status=200 duration=%dms`,
			at.UTC().Format(time.RFC3339Nano), p, ms)
	}
}
