package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/faultline-dev/faultline/incident"
)

// Poller fetches what arrived since the previous poll. It remembers, per
// stream, the last timestamp delivered and the entries delivered at it, so
// overlapping windows deliver nothing twice. Not safe for concurrent use.
type Poller struct {
	loki     *Loki
	selector string
	from     time.Time
	// Overlap re-reads this much before the newest entry seen, so that
	// entries Loki ingests a little late (agents batch and retry) are
	// still found. Default 30s.
	Overlap time.Duration
	last    map[string]streamCursor
}

type streamCursor struct {
	ts  time.Time
	ids map[string]bool // lines delivered at ts
}

// NewPoller starts polling selector (the configured one when empty) at since.
func (l *Loki) NewPoller(selector string, since time.Time) *Poller {
	return &Poller{loki: l, selector: selector, from: since, Overlap: 30 * time.Second, last: map[string]streamCursor{}}
}

// Poll delivers the entries in [last poll, until) not delivered before.
func (p *Poller) Poll(ctx context.Context, until time.Time, fn func(incident.Event) error) (Stats, error) {
	st, err := p.loki.Fetch(ctx, Query{Start: p.from, End: until, Selector: p.selector}, func(e incident.Event) error {
		if !p.fresh(e) {
			return nil
		}
		return fn(e)
	})
	if err == nil {
		// Entries older than the overlap are taken as settled; the
		// cursors skip what the overlap re-reads.
		if from := until.Add(-p.Overlap); from.After(p.from) {
			p.from = from
		}
	}
	return st, err
}

// fresh reports whether e was not delivered before, and records it.
// Entries older than their stream's cursor are taken as delivered.
func (p *Poller) fresh(e incident.Event) bool {
	key := e.StreamKey()
	c, ok := p.last[key]
	switch {
	case !ok || e.Time.After(c.ts):
		p.last[key] = streamCursor{ts: e.Time, ids: map[string]bool{e.Line: true}}
		return true
	case e.Time.Before(c.ts) || c.ids[e.Line]:
		return false
	default:
		c.ids[e.Line] = true
		return true
	}
}

// Follow delivers entries from q.Start (now when zero) as they arrive,
// until ctx ends or fn fails. It uses Loki's live tail websocket; when the
// tail cannot be opened or breaks (a proxy that does not pass websockets,
// a tail limit reached), it falls back to polling query_range every
// pollInterval. Entries are never delivered twice across the switch.
func (l *Loki) Follow(ctx context.Context, q Query, pollInterval time.Duration, fn func(incident.Event) error) error {
	start := q.Start
	if start.IsZero() {
		start = time.Now()
	}
	p := l.NewPoller(q.Selector, start)
	err := l.tail(ctx, q.Selector, start, func(e incident.Event) error {
		if !p.fresh(e) {
			return nil
		}
		if from := e.Time.Add(-p.Overlap); from.After(p.from) {
			p.from = from
		}
		return fn(e)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var fnErr *callbackError
	if errors.As(err, &fnErr) {
		return fnErr.err
	}
	if pollInterval <= 0 {
		pollInterval = 10 * time.Second
	}
	wrapped := func(e incident.Event) error {
		if err := fn(e); err != nil {
			return &callbackError{err}
		}
		return nil
	}
	for {
		if _, err := p.Poll(ctx, time.Now(), wrapped); err != nil && ctx.Err() == nil {
			var fnErr *callbackError
			if errors.As(err, &fnErr) {
				return fnErr.err
			}
			// A failed poll is retried at the next tick; the caller
			// sees the outage through the source's status, not here.
			_ = err
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// callbackError marks an error returned by the caller's fn, which ends
// Follow instead of triggering the fallback.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// tailMessage is one websocket message of /loki/api/v1/tail.
type tailMessage struct {
	Streams        []lokiStream `json:"streams"`
	DroppedEntries []struct {
		Labels    map[string]string `json:"labels"`
		Timestamp string            `json:"timestamp"`
	} `json:"dropped_entries"`
}

// tail reads the live tail until it ends. It returns a *callbackError when
// fn failed, and any other error when the tail itself failed.
func (l *Loki) tail(ctx context.Context, selector string, start time.Time, fn func(incident.Event) error) error {
	u := *l.base
	u.User = nil
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/loki/api/v1/tail"
	v := url.Values{}
	v.Set("query", l.query(selector))
	v.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	v.Set("limit", strconv.Itoa(l.cfg.PageLimit))
	u.RawQuery = v.Encode()
	hdr := make(map[string][]string)
	l.authorize(hdr)
	http.Header(hdr).Set("X-Loki-Response-Encoding-Flags", "categorize-labels") // as query_range asks
	conn, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: l.client, HTTPHeader: hdr})
	if err != nil {
		return l.redact(fmt.Errorf("open loki tail %s: %w", l.base.Redacted(), err))
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	labels := map[string]map[string]string{}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return l.redact(fmt.Errorf("read loki tail: %w", err))
		}
		var msg tailMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			return fmt.Errorf("read loki tail: bad message: %w", err)
		}
		for _, s := range msg.Streams {
			key := incident.LabelsKey(s.Stream)
			norm, ok := labels[key]
			if !ok {
				norm = NormalizeLabels(s.Stream)
				labels[key] = norm
			}
			for _, e := range s.Values {
				if e.bad != "" {
					continue
				}
				ev := incident.Event{Time: e.ts, Labels: norm, Line: e.line, Origin: "loki " + l.base.Redacted()}
				if err := fn(ev); err != nil {
					return &callbackError{err}
				}
			}
		}
	}
}
