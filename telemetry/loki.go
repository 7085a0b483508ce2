package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// DefaultSelector reads every stream that names a service. Loki rejects a
// selector that matches everything, so one non-empty matcher is required.
const DefaultSelector = `{service=~".+"}`

// DefaultSelectors are the queries that together read every stream naming a
// service under any of the label names design §3 accepts. Loki has no "or"
// across label names, so each alias is its own query, made disjoint by
// excluding the names before it: no stream is read twice.
var DefaultSelectors = []string{
	DefaultSelector,
	`{service_name=~".+", service!~".+"}`,
	`{app=~".+", service!~".+", service_name!~".+"}`,
	`{job=~".+", service!~".+", service_name!~".+", app!~".+"}`,
}

// LokiConfig configures the Loki backend. Secrets (Token, Password) come
// from the environment (FAULTLINE_LOKI_TOKEN) or a credentials file, never
// from the workspace config; they are sent as headers and never appear in
// names, logs or errors.
type LokiConfig struct {
	URL string // base URL, e.g. http://127.0.0.1:3100
	// Selector is the LogQL stream selector; DefaultSelector when empty.
	Selector string
	// LineFilter, when set, is appended to the selector, e.g.
	// `|~ "(?i)(panic|error|exception|traceback|fatal)"`. It is off by
	// default on purpose: the continuation lines of a multi-line stack
	// trace ("goroutine 1 [running]:", "\tat com.acme.Cart.total(...)",
	// `  File "app.py", line 3`) contain none of those words, so a filter
	// would deliver the first line of every trace and drop its frames.
	// Use it only when the service logs traces as single entries.
	LineFilter string
	OrgID      string // X-Scope-OrgID for multi-tenant Loki
	Token      string // bearer token
	Username   string // basic auth
	Password   string
	// PageLimit is the number of entries per query_range request (default
	// 5000, Loki's default max_entries_limit_per_query).
	PageLimit int
	// MaxQueryLength splits longer windows into several queries (default
	// 721h, Loki's default max_query_length).
	MaxQueryLength time.Duration
	// DefaultWindow is used when a Query has no Start (default 1h, as Loki).
	DefaultWindow time.Duration
	// RequestTimeout bounds each HTTP attempt (default 30s).
	RequestTimeout time.Duration
	// MaxAttempts bounds the tries per request on 429, 5xx and timeouts
	// (default 5).
	MaxAttempts int
	// RetryInitial is the first backoff interval (default 500ms); it grows
	// exponentially with jitter.
	RetryInitial time.Duration
	TLS          *tls.Config  // used when HTTPClient is nil
	HTTPClient   *http.Client // optional; its Timeout should be zero
}

// Loki reads log entries from Loki's HTTP API. NewLoki returns it as a
// Source; it also implements Follower and offers NewPoller.
type Loki struct {
	cfg    LokiConfig
	base   *url.URL
	client *http.Client
	// sleep waits between retries; tests replace it to avoid real waits.
	sleep func(ctx context.Context, d time.Duration) error
	// serverMax is the server's max_entries_limit_per_query once it
	// refused a larger limit; zero until then.
	serverMax atomic.Int64
}

// NewLoki checks cfg and fills in defaults.
func NewLoki(cfg LokiConfig) (Source, error) { return newLoki(cfg) }

func newLoki(cfg LokiConfig) (*Loki, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("loki url %q: want http(s)://host[:port]", redactURL(cfg.URL))
	}
	if cfg.Selector == "" {
		cfg.Selector = DefaultSelector
	}
	if cfg.PageLimit <= 0 {
		cfg.PageLimit = 5000
	}
	if cfg.MaxQueryLength <= 0 {
		cfg.MaxQueryLength = 721 * time.Hour
	}
	if cfg.DefaultWindow <= 0 {
		cfg.DefaultWindow = time.Hour
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = 500 * time.Millisecond
	}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.TLS
		client = &http.Client{Transport: tr}
	}
	return &Loki{cfg: cfg, base: u, client: client, sleep: sleepCtx}, nil
}

// Name is "loki:" and the URL without credentials.
func (l *Loki) Name() string { return "loki:" + l.base.Redacted() }

// query returns the LogQL query for a selector (the configured one when
// empty), with the line filter if one is configured.
func (l *Loki) query(selector string) string {
	if selector == "" {
		selector = l.cfg.Selector
	}
	if l.cfg.LineFilter != "" {
		return selector + " " + l.cfg.LineFilter
	}
	return selector
}

// window fills a zero End with now and a zero Start with End-DefaultWindow.
func (l *Loki) window(q Query) (time.Time, time.Time) {
	end := q.End
	if end.IsZero() {
		end = time.Now()
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-l.cfg.DefaultWindow)
	}
	return start, end
}

// Fetch delivers every entry in the window, oldest first, splitting the
// window at MaxQueryLength and paging through each part.
func (l *Loki) Fetch(ctx context.Context, q Query, fn func(incident.Event) error) (Stats, error) {
	var st Stats
	start, end := l.window(q)
	query := l.query(q.Selector)
	for from := start; from.Before(end); from = from.Add(l.cfg.MaxQueryLength) {
		to := from.Add(l.cfg.MaxQueryLength)
		if to.After(end) {
			to = end
		}
		if err := l.fetchRange(ctx, query, from, to, &st, fn); err != nil {
			return st, err
		}
	}
	return st, nil
}

// entryID identifies an entry across pages: Loki has no entry ids, and
// entries of one stream may share a timestamp.
type entryID struct {
	stream string
	ts     int64
	line   string
}

// fetchRange pages forward through [from, to).
//
// Paging: a full page (as many entries as the limit) may end in the middle
// of entries sharing a timestamp, so the next page starts at the last
// timestamp seen, inclusive, and the entries already delivered at that
// timestamp are skipped by identity. The limit of that next request is
// raised by the number of such entries, so a page always holds new entries
// even when more than PageLimit entries share one timestamp.
func (l *Loki) fetchRange(ctx context.Context, query string, from, to time.Time, st *Stats, fn func(incident.Event) error) error {
	seen := map[entryID]bool{} // delivered entries at time `from`
	labels := map[string]map[string]string{}
	for {
		limit := l.cfg.PageLimit + len(seen)
		if max := int(l.serverMax.Load()); max > 0 && limit > max {
			limit = max
		}
		page, n, err := l.queryRange(ctx, query, from, to, limit, st)
		var tooMany *entriesLimitError
		if errors.As(err, &tooMany) && tooMany.max < limit {
			// The server allows fewer entries per query (its
			// max_entries_limit_per_query): page by its maximum.
			l.serverMax.Store(int64(tooMany.max))
			continue
		}
		if err != nil {
			return err
		}
		sort.SliceStable(page, func(i, j int) bool { return page[i].ts.Before(page[j].ts) })
		fresh := 0
		for _, e := range page {
			id := entryID{e.stream, e.ts.UnixNano(), e.line}
			if seen[id] {
				continue
			}
			fresh++
			norm, ok := labels[e.stream]
			if !ok {
				norm = NormalizeLabels(e.labels)
				labels[e.stream] = norm
			}
			st.Entries++
			if err := fn(incident.Event{Time: e.ts, Labels: norm, Line: e.line, Origin: "loki " + l.base.Redacted()}); err != nil {
				return err
			}
			if e.ts.Equal(from) {
				seen[id] = true
			} else {
				from, seen = e.ts, map[entryID]bool{id: true}
			}
		}
		if n < limit {
			return nil
		}
		if fresh == 0 {
			// A full page of entries already delivered: more entries share
			// one nanosecond than the server lets one query return.
			return fmt.Errorf("query loki %s: more than %d entries at %s; raise max_entries_limit_per_query",
				l.base.Redacted(), limit, from.Format(time.RFC3339Nano))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// pageEntry is one entry of a query_range page.
type pageEntry struct {
	stream string // incident.LabelsKey of labels
	labels map[string]string
	ts     time.Time
	line   string
}

// errRetryable marks failures worth another attempt.
var errRetryable = errors.New("retryable")
