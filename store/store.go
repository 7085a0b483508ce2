// Package store keeps what the team correlator knows across restarts:
// incidents, a bounded list of their occurrences, the history of each
// fingerprint (seen, resolved, regressed), fix and pull-request state, and
// the poll cursors. It runs on an embedded SQLite file (the default, one
// process) or on PostgreSQL (several correlator replicas behind a load
// balancer); both speak the same Store interface and pass the same
// conformance suite.
//
// Counting is exact and idempotent: every occurrence carries a stable key
// (OccurrenceKey: stream labels, timestamp, first line), and an incident's
// count grows only by the occurrences whose key was not stored yet, in the
// same transaction. Re-reading a window, a restart mid-ingest or a second
// replica polling the same backend never counts an occurrence twice.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// ErrNotFound is returned for an incident the store does not hold.
var ErrNotFound = errors.New("not found")

// Store is the correlator's persistent state. Implementations are safe for
// concurrent use, also by several processes on one database.
type Store interface {
	// Ingest merges one analysed incident and the occurrences it was built
	// from. Occurrences whose key is already stored are ignored; the count
	// grows by the others. first_seen only moves back, last_seen only
	// forward, versions only grow.
	Ingest(ctx context.Context, repo string, inc incident.Incident, occs []Occurrence) (IngestResult, error)
	// Incident returns one incident, or ErrNotFound.
	Incident(ctx context.Context, id string) (Record, error)
	// Incidents lists incidents matching f, most recently seen first.
	Incidents(ctx context.Context, f Filter) ([]Record, error)
	// Occurrences returns the stored occurrences of an incident, newest
	// first, at most limit (all when limit <= 0).
	Occurrences(ctx context.Context, id string, limit int) ([]Occurrence, error)
	// History returns what happened to an incident's fingerprint, oldest
	// first.
	History(ctx context.Context, id string) ([]HistoryEvent, error)
	// Resolve marks an incident resolved at t; a later occurrence records a
	// regression.
	Resolve(ctx context.Context, id string, t time.Time, note string) error
	// SetFix records the fix or pull-request state of an incident.
	SetFix(ctx context.Context, f FixState) error
	// Fix returns the fix state of an incident, or ErrNotFound.
	Fix(ctx context.Context, id string) (FixState, error)
	// Cursor returns where the named poller's last complete window ended;
	// zero when it never completed one.
	Cursor(ctx context.Context, name string) (time.Time, error)
	// SetCursor moves the named cursor forward to t; it never moves back,
	// so two replicas can both write it.
	SetCursor(ctx context.Context, name string, t time.Time) error
	// Revision grows with every change to incidents: a cheap test for
	// "has anything changed" shared by every replica.
	Revision(ctx context.Context) (int64, error)
	// Count returns how many incidents and stored occurrences there are.
	Count(ctx context.Context) (incidents, occurrences int64, err error)
	Close() error
}

// Occurrence is one crash, identified by its key.
type Occurrence struct {
	Key        string            `json:"key"`
	IncidentID string            `json:"incident_id"`
	Time       time.Time         `json:"time"`
	Version    string            `json:"version,omitempty"`
	Message    string            `json:"message"`
	Labels     map[string]string `json:"labels"`
}

// OccurrenceKey identifies an occurrence however often and by whichever
// replica it is read: the stream (its sorted labels), the timestamp of the
// trace's first entry and that first line. Loki itself drops entries equal
// in all three, so no two real occurrences share a key.
func OccurrenceKey(labels map[string]string, t time.Time, firstLine string) string {
	h := sha256.New()
	h.Write([]byte(incident.LabelsKey(labels)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(t.UnixNano(), 10)))
	h.Write([]byte{0})
	h.Write([]byte(firstLine))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Record is a stored incident. Incident keeps the check contract's JSON
// shape; its Count, FirstSeen, LastSeen, Versions and Timeline are the
// store's accumulated values, not one poll's.
type Record struct {
	Repo       string
	Incident   incident.Incident
	Revision   int64 // the store revision that last changed it
	ResolvedAt time.Time
}

// Filter selects incidents. Zero fields match everything.
type Filter struct {
	Service string
	Repo    string
	Since   time.Time // last_seen at or after
	Limit   int       // default 500
}

// IngestResult says what an Ingest changed.
type IngestResult struct {
	New       int  // occurrences not seen before
	Created   bool // the incident is new to the store
	Regressed bool // it had been resolved and occurred again after that
	Changed   bool // the stored incident changed (the revision moved)
}

// HistoryEvent is one entry of a fingerprint's history.
type HistoryEvent struct {
	Kind    string    `json:"kind"` // seen | resolved | regressed
	Time    time.Time `json:"time"`
	Version string    `json:"version,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// FixState is where a fix for an incident stands.
type FixState struct {
	IncidentID string    `json:"incident_id"`
	State      string    `json:"state"` // proposed | pr_open | merged | closed
	Title      string    `json:"title,omitempty"`
	PRURL      string    `json:"pr_url,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Options bound what the store keeps.
type Options struct {
	// MaxOccurrences is how many occurrences are kept per incident
	// (default 200). Older ones are pruned, but never within KeepKeysFor.
	MaxOccurrences int
	// KeepKeysFor is how long before an incident's last_seen occurrence
	// keys are kept whatever MaxOccurrences says (default 24h): a poller
	// re-reads at most this far back, so a key it might read again is
	// never forgotten and never counted twice.
	KeepKeysFor time.Duration
	// MaxSQLitePages caps an SQLite store's size (in pages of 4 KiB) so it
	// cannot fill the disk; writes past it fail like a full disk does
	// ("database or disk is full"). 0: no cap.
	MaxSQLitePages int
}

func (o Options) withDefaults() Options {
	if o.MaxOccurrences <= 0 {
		o.MaxOccurrences = 200
	}
	if o.KeepKeysFor <= 0 {
		o.KeepKeysFor = 24 * time.Hour
	}
	return o
}

// DefaultPath is the SQLite file used when no store is configured:
// faultline/correlator.db under the user cache directory.
func DefaultPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache dir: %w", err)
	}
	return filepath.Join(dir, "faultline", "correlator.db"), nil
}

// Open opens (and migrates) the store a spec names: "sqlite:PATH",
// "postgres:DSN" or a postgres:// URL. An empty spec is the SQLite file at
// DefaultPath.
func Open(ctx context.Context, spec string, opt Options) (Store, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch {
	case spec == "":
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		return OpenSQLite(ctx, p, opt)
	case kind == "sqlite":
		return OpenSQLite(ctx, rest, opt)
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return OpenPostgres(ctx, spec, opt)
	case kind == "postgres":
		return OpenPostgres(ctx, rest, opt)
	}
	return nil, fmt.Errorf("store %q: want sqlite:PATH or postgres:DSN", spec)
}
