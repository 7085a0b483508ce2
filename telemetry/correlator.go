package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// The correlator source reads incidents a team's `faultline correlator`
// already assembled, instead of log entries: N editors then cost the log
// backend nothing and the correlator one store read each, usually a 304.

// correlatorPath is the correlator's list endpoint.
const correlatorPath = "/api/v1/incidents"

// maxCorrelatorBody bounds one answer: incidents are small, a runaway or
// hostile server must not fill the editor's memory.
const maxCorrelatorBody = 64 << 20

// correlatorHTTP has a timeout above the longest long-poll a caller asks for.
var correlatorHTTP = &http.Client{Timeout: 6 * time.Minute}

// FetchIncidents asks a correlator for its incidents. baseURL is the
// correlator's address, optionally with filters
// (https://host:8480/?service=checkout&repo=shop) or the full list path.
// With the etag of a previous answer it returns notModified (and no
// incidents) when nothing changed. The token is sent as a bearer token and
// never appears in errors.
func FetchIncidents(ctx context.Context, baseURL, token, etag string) (incs []incident.Incident, newETag string, notModified bool, err error) {
	return fetchIncidents(ctx, baseURL, token, etag, 0)
}

// WaitIncidents is FetchIncidents as a long poll: the correlator answers as
// soon as its incidents differ from etag, or notModified after wait.
func WaitIncidents(ctx context.Context, baseURL, token, etag string, wait time.Duration) ([]incident.Incident, string, bool, error) {
	return fetchIncidents(ctx, baseURL, token, etag, wait)
}

func fetchIncidents(ctx context.Context, baseURL, token, etag string, wait time.Duration) ([]incident.Incident, string, bool, error) {
	u, err := correlatorURL(baseURL, wait)
	if err != nil {
		return nil, "", false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", false, fmt.Errorf("correlator %s: %w", redactURL(baseURL), err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := correlatorHTTP.Do(req)
	if err != nil {
		return nil, "", false, fmt.Errorf("correlator %s: %w", redactURL(baseURL), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, etag, true, nil
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, "", false, fmt.Errorf("correlator %s: %s: check FAULTLINE_CORRELATOR_TOKEN", redactURL(baseURL), resp.Status)
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, "", false, fmt.Errorf("correlator %s: %s: %s", redactURL(baseURL), resp.Status, strings.TrimSpace(string(msg)))
	}
	var out struct {
		Incidents []incident.Incident `json:"incidents"`
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxCorrelatorBody))
	if err := dec.Decode(&out); err != nil {
		return nil, "", false, fmt.Errorf("correlator %s: read incidents: %w", redactURL(baseURL), err)
	}
	if out.Incidents == nil {
		out.Incidents = []incident.Incident{}
	}
	// Each incident links to its page in the correlator: the editor's
	// diagnostic code opens it.
	for i := range out.Incidents {
		if out.Incidents[i].Link == "" {
			l := *resp.Request.URL
			l.RawQuery = ""
			l.Path = strings.TrimSuffix(l.Path, "/") + "/" + url.PathEscape(out.Incidents[i].ID)
			l.User = nil
			out.Incidents[i].Link = l.String()
		}
	}
	return out.Incidents, resp.Header.Get("ETag"), false, nil
}

// correlatorURL adds the list path (unless given) and the wait parameter.
func correlatorURL(base string, wait time.Duration) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("correlator %q: want an http(s) URL such as https://faultline.internal:8480", redactURL(base))
	}
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), correlatorPath) {
		u.Path = strings.TrimSuffix(u.Path, "/") + correlatorPath
	}
	if wait > 0 {
		q := u.Query()
		q.Set("wait", wait.String())
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Correlator is a correlator as a source of ready incidents. Its Fetch
// delivers no log entries (the correlator already analysed them); callers
// that understand it ask Incidents. It keeps the last answer and its ETag,
// shared by every Correlator of the same URL and token in the process, so
// re-creating the source each poll still costs the correlator only a 304.
type Correlator struct {
	URL   string
	token string
}

// NewCorrelator returns the source for a correlator at url. The token comes
// from the environment (FAULTLINE_CORRELATOR_TOKEN), never from a config
// file.
func NewCorrelator(url, token string) *Correlator { return &Correlator{URL: url, token: token} }

// Name implements Source.
func (c *Correlator) Name() string { return "correlator:" + redactURL(c.URL) }

// Fetch implements Source: a correlator serves incidents, not entries.
func (c *Correlator) Fetch(ctx context.Context, _ Query, _ func(incident.Event) error) (Stats, error) {
	return Stats{}, ctx.Err()
}

type correlatorState struct {
	mu   sync.Mutex
	etag string
	incs []incident.Incident
}

var correlatorCache sync.Map // url + "\x00" + token -> *correlatorState

// Incidents returns the correlator's current incidents, fetched with the
// cached ETag: an unchanged set costs one 304. On error the caller gets
// the error; the last known incidents stay cached for the next call.
func (c *Correlator) Incidents(ctx context.Context) ([]incident.Incident, error) {
	v, _ := correlatorCache.LoadOrStore(c.URL+"\x00"+c.token, &correlatorState{})
	st := v.(*correlatorState)
	st.mu.Lock()
	defer st.mu.Unlock()
	incs, etag, notModified, err := FetchIncidents(ctx, c.URL, c.token, st.etag)
	if err != nil {
		return nil, err
	}
	if !notModified {
		st.etag, st.incs = etag, incs
	}
	return append([]incident.Incident(nil), st.incs...), nil
}
