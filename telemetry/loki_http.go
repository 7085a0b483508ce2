package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/faultline-dev/faultline/incident"
)

// maxRetryAfter caps how long a Retry-After header can make us wait: a
// server asking for an hour should surface as an error, not a hang.
const maxRetryAfter = 2 * time.Minute

// queryRange fetches one page. It returns the entries that could be read
// and n, the number of values in the response (read or not), which is what
// Loki's limit counts.
func (l *Loki) queryRange(ctx context.Context, query string, from, to time.Time, limit int, st *Stats) ([]pageEntry, int, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("start", strconv.FormatInt(from.UnixNano(), 10))
	v.Set("end", strconv.FormatInt(to.UnixNano(), 10))
	v.Set("limit", strconv.Itoa(limit))
	v.Set("direction", "forward")
	var page []pageEntry
	n := 0
	err := l.do(ctx, "/loki/api/v1/query_range", v, func(body io.Reader) error {
		page, n = page[:0], 0
		cr := &countingReader{r: body}
		defer func() { st.Bytes += cr.n }()
		return decodeQueryRange(cr, streamVisitor{
			entry: func(labels map[string]string, e streamEntry) error {
				n++
				page = append(page, pageEntry{incident.LabelsKey(labels), labels, e.ts, e.line})
				return nil
			},
			bad: func(where, reason string) {
				n++
				st.Malformed++
				st.problem("loki query_range %s: %s", where, reason)
			},
			cut: func(where string) {
				st.Truncated++
				st.problem("loki query_range %s: line longer than %d bytes truncated", where, MaxLineBytes)
			},
			forward: true, // as asked
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("query loki %s: %w", l.base.Redacted(), err)
	}
	return page, n, nil
}

// do GETs path with params and hands a 200 body to read, retrying with
// exponential backoff and jitter on 429 (honouring Retry-After), 5xx,
// timeouts and connection errors, at most MaxAttempts times. A body that
// fails to decode is not retried: the server answered, wrongly.
func (l *Loki) do(ctx context.Context, path string, params url.Values, read func(io.Reader) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = l.cfg.RetryInitial
	b.RandomizationFactor = 0.5
	b.MaxElapsedTime = 0
	retries := backoff.WithMaxRetries(b, uint64(l.cfg.MaxAttempts-1))
	retries.Reset()
	for attempt := 1; ; attempt++ {
		wait, err := l.attempt(ctx, path, params, read)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errRetryable) || ctx.Err() != nil {
			return l.redact(err)
		}
		next := retries.NextBackOff()
		if next == backoff.Stop {
			return l.redact(fmt.Errorf("giving up after %d attempts: %w", attempt, err))
		}
		if wait > 0 {
			next = wait
		}
		if serr := l.sleep(ctx, next); serr != nil {
			return l.redact(fmt.Errorf("%w (while waiting to retry: %v)", serr, err))
		}
	}
}

// attempt makes one request. It returns the server's Retry-After, if any,
// and an error wrapping errRetryable when another attempt may succeed.
func (l *Loki) attempt(ctx context.Context, path string, params url.Values, read func(io.Reader) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RequestTimeout)
	defer cancel()
	u := *l.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = params.Encode()
	u.User = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	l.authorize(req.Header)
	// Loki 3 counts each entry's structured metadata (detected_level, which
	// it adds to every entry by default, and OTLP attributes) as labels of
	// its stream unless asked to answer them apart: then the lines of one
	// trace, whose levels differ, would come back as several streams.
	// Older Lokis ignore the header.
	req.Header.Set("X-Loki-Response-Encoding-Flags", "categorize-labels")
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, fmt.Errorf("%w: no answer within %s: %w", errRetryable, l.cfg.RequestTimeout, context.DeadlineExceeded)
		}
		return 0, fmt.Errorf("%w: %w", errRetryable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err := fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
		if max, ok := entriesLimit(resp.StatusCode, string(msg)); ok {
			return 0, &entriesLimitError{max: max, err: err}
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("%w: %w", errRetryable, err)
		}
		return 0, err
	}
	if err := read(resp.Body); err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, fmt.Errorf("%w: response not read within %s: %w", errRetryable, l.cfg.RequestTimeout, context.DeadlineExceeded)
		}
		return 0, fmt.Errorf("read response: %w", err)
	}
	return 0, nil
}

// authorize sets the tenant and credential headers.
func (l *Loki) authorize(h http.Header) {
	if l.cfg.OrgID != "" {
		h.Set("X-Scope-OrgID", l.cfg.OrgID)
	}
	switch {
	case l.cfg.Token != "":
		h.Set("Authorization", "Bearer "+l.cfg.Token)
	case l.cfg.Username != "" || l.cfg.Password != "":
		req := http.Request{Header: h}
		req.SetBasicAuth(l.cfg.Username, l.cfg.Password)
	}
	if l.base.User != nil && l.cfg.Token == "" && l.cfg.Username == "" {
		pw, _ := l.base.User.Password()
		req := http.Request{Header: h}
		req.SetBasicAuth(l.base.User.Username(), pw)
	}
}

// redact removes secrets from an error's text. Nothing should put them
// there, but a server may echo a header back in its error body.
func (l *Loki) redact(err error) error {
	msg := err.Error()
	secrets := []string{l.cfg.Token, l.cfg.Password}
	if l.base.User != nil {
		pw, _ := l.base.User.Password()
		secrets = append(secrets, pw)
	}
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "[REDACTED]")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError shows a cleaned message but keeps the chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = time.Until(t)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redactURL hides a password in a URL string that may not parse.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// entriesLimitError is Loki refusing a query's limit: the server's
// max_entries_limit_per_query is below it.
type entriesLimitError struct {
	max int
	err error
}

func (e *entriesLimitError) Error() string { return e.err.Error() }
func (e *entriesLimitError) Unwrap() error { return e.err }

// entriesLimit reads Loki's answer to a limit above its
// max_entries_limit_per_query (400, "max entries limit per query exceeded,
// limit > max_entries_limit (5000 > 1000)"; newer versions name the
// setting in full) and returns the server's maximum.
func entriesLimit(status int, body string) (int, bool) {
	if status != http.StatusBadRequest {
		return 0, false
	}
	_, rest, ok := strings.Cut(body, "max entries limit per query exceeded")
	if !ok {
		return 0, false
	}
	_, rest, ok = strings.Cut(rest, "(")
	if !ok {
		return 0, false
	}
	_, rest, ok = strings.Cut(rest, ">")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, ")")
	max, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || max <= 0 {
		return 0, false
	}
	return max, true
}
