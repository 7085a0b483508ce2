package correlator

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

// API paths. The list and get answers keep the `faultline check --format
// json` shape ({"incidents":[...]}), each incident with one added field,
// "repo".
const (
	PathIncidents = "/api/v1/incidents"
	PathHealth    = "/healthz"
	PathMetrics   = "/metrics"
)

// Long-poll bounds: a client may wait up to maxWait; other replicas'
// changes are noticed by checking the store revision every revisionCheck.
const (
	maxWait       = 5 * time.Minute
	revisionCheck = time.Second
)

// Handler returns the HTTP API: the incident list and get and the push
// endpoints (bearer token), /healthz and /metrics (open: they hold no
// incident data).
func (c *Correlator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+PathIncidents, c.auth(http.HandlerFunc(c.handleList)))
	mux.Handle("GET "+PathIncidents+"/{id}", c.auth(http.HandlerFunc(c.handleGet)))
	mux.HandleFunc("GET "+PathHealth, c.handleHealth)
	mux.Handle("GET "+PathMetrics, c.metrics.handler())
	c.push.routes(mux, c.auth)
	return mux
}

func (c *Correlator) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + c.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if c.cfg.Token != "" && subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faultline"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiIncident is an incident as the API shows it: the check contract's
// fields plus the repository it was mapped into.
type apiIncident struct {
	incident.Incident
	Repo string `json:"repo"`
}

func (c *Correlator) handleList(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	f := store.Filter{Service: p.Get("service"), Repo: p.Get("repo")}
	if s := p.Get("since"); s != "" {
		t, err := parseSince(s, c.cfg.Now())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.Since = t
	}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "limit: want a positive number")
			return
		}
		f.Limit = n
	}
	c.serveWatched(w, r, func(ctx context.Context) ([]byte, error) {
		recs, err := c.cfg.Store.Incidents(ctx, f)
		if err != nil {
			return nil, err
		}
		out := struct {
			Incidents []apiIncident `json:"incidents"`
		}{Incidents: make([]apiIncident, 0, len(recs))}
		for _, rec := range recs {
			out.Incidents = append(out.Incidents, apiIncident{rec.Incident, rec.Repo})
		}
		return json.Marshal(out)
	})
}

func (c *Correlator) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c.serveWatched(w, r, func(ctx context.Context) ([]byte, error) {
		rec, err := c.cfg.Store.Incident(ctx, id)
		if err != nil {
			return nil, err
		}
		return json.Marshal(apiIncident{rec.Incident, rec.Repo})
	})
}

// serveWatched answers with render's body and its ETag. When the client
// already holds that ETag it gets 304, at once or, with ?wait=DURATION, as
// soon as the body changes (200) or when the wait is over (304).
func (c *Correlator) serveWatched(w http.ResponseWriter, r *http.Request, render func(context.Context) ([]byte, error)) {
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	held := r.Header.Get("If-None-Match")
	deadline := time.Now().Add(wait)
	for {
		// Subscribe before reading, so a change between the read and the
		// wait is not missed.
		local := c.changes()
		rev, revErr := c.cfg.Store.Revision(ctx)
		body, err := render(ctx)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such incident")
			return
		}
		if err != nil || revErr != nil {
			if ctx.Err() == nil {
				writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("read store: %v", errors.Join(err, revErr)))
			}
			return
		}
		etag := etagOf(body)
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "no-cache")
		if !matches(held, etag) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
			return
		}
		left := time.Until(deadline)
		if left <= 0 || !c.waitForChange(ctx, local, rev, left) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
}

// waitForChange blocks until this process changes the store, another
// replica moves the store revision past rev, or d passes. It reports
// whether something changed.
func (c *Correlator) waitForChange(ctx context.Context, local <-chan struct{}, rev int64, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(revisionCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-local:
			return true
		case <-tick.C:
			if now, err := c.cfg.Store.Revision(ctx); err == nil && now != rev {
				return true
			}
		}
	}
}

func etagOf(body []byte) string {
	h := sha256.Sum256(body)
	return `"` + hex.EncodeToString(h[:12]) + `"`
}

// matches reads If-None-Match: a list of tags, or *.
func matches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("wait %q: want a duration such as 30s", s)
	}
	return min(d, maxWait), nil
}

// parseSince reads an RFC 3339 time or a duration back from now ("24h").
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("since %q: want RFC 3339 or a duration such as 24h", s)
	}
	return t, nil
}

func (c *Correlator) handleHealth(w http.ResponseWriter, r *http.Request) {
	last, pollErr := c.status()
	_, storeErr := c.cfg.Store.Revision(r.Context())
	out := map[string]any{"status": "ok"}
	code := http.StatusOK
	if !last.IsZero() {
		out["last_poll"] = last.UTC().Format(time.RFC3339)
	}
	if pollErr != nil {
		out["last_poll_error"] = pollErr.Error()
	}
	if storeErr != nil {
		out["status"], out["store_error"] = "unavailable", storeErr.Error()
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
