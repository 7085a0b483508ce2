package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Timeline bounds, as the analysis uses: five-minute buckets, at most 96
// (eight hours of a busy incident) kept, the oldest dropped first.
const (
	bucketWidth = 5 * time.Minute
	maxBuckets  = 96
	maxVersions = 16
)

// Ingest implements Store. It runs in one transaction that first makes sure
// the incident row exists and then locks it, so that concurrent replicas
// ingesting the same incident queue on that row: each occurrence key is
// inserted by exactly one of them, and only that one counts it.
func (s *sqlStore) Ingest(ctx context.Context, repo string, inc incident.Incident, occs []Occurrence) (IngestResult, error) {
	if inc.ID == "" {
		return IngestResult{}, errors.New("ingest incident: empty id")
	}
	var res IngestResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.ingest(ctx, tx, repo, inc, occs)
		return err
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest incident %s: %w", inc.ID, err)
	}
	return res, nil
}

func (s *sqlStore) ingest(ctx context.Context, tx *sql.Tx, repo string, inc incident.Incident, occs []Occurrence) (IngestResult, error) {
	var res IngestResult
	r, err := tx.ExecContext(ctx, s.q(`INSERT INTO incidents (id, repo, service, env, count, first_seen, last_seen, data)
		VALUES (?, ?, ?, ?, 0, ?, ?, '') ON CONFLICT (id) DO NOTHING`),
		inc.ID, repo, inc.Service, inc.Env, ns(inc.FirstSeen), ns(inc.LastSeen))
	if err != nil {
		return res, err
	}
	if n, _ := r.RowsAffected(); n == 1 {
		res.Created = true
	}
	var count, first, last int64
	var resolved sql.NullInt64
	var data string
	err = tx.QueryRowContext(ctx, s.q(`SELECT count, first_seen, last_seen, resolved_at, data FROM incidents WHERE id = ?`+s.d.forUpdate), inc.ID).
		Scan(&count, &first, &last, &resolved, &data)
	if err != nil {
		return res, err
	}
	var old incident.Incident
	if data != "" {
		if err := json.Unmarshal([]byte(data), &old); err != nil {
			return res, fmt.Errorf("decode stored incident: %w", err)
		}
	} else {
		res.Created = true // a row left empty by an aborted first ingest
	}
	fresh, err := s.insertOccurrences(ctx, tx, inc.ID, occs)
	if err != nil {
		return res, err
	}
	res.New = len(fresh)
	merged := merge(old, inc, int(count), fresh, !res.Created)
	if resolved.Valid {
		for _, t := range fresh {
			if ns(t) > resolved.Int64 {
				res.Regressed = true
				break
			}
		}
	}
	if err := s.recordHistory(ctx, tx, inc.ID, res, merged); err != nil {
		return res, err
	}
	newData, err := json.Marshal(merged)
	if err != nil {
		return res, fmt.Errorf("encode incident: %w", err)
	}
	res.Changed = string(newData) != data || res.Regressed
	if !res.Changed {
		return res, nil
	}
	rev, err := s.bumpRevision(ctx, tx)
	if err != nil {
		return res, err
	}
	resolvedAt := resolved
	if res.Regressed {
		resolvedAt = sql.NullInt64{}
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE incidents SET repo = ?, service = ?, env = ?, count = ?, first_seen = ?,
		last_seen = ?, resolved_at = ?, revision = ?, data = ? WHERE id = ?`),
		repo, merged.Service, merged.Env, merged.Count, ns(merged.FirstSeen), ns(merged.LastSeen), resolvedAt, rev, string(newData), inc.ID)
	if err != nil {
		return res, err
	}
	if res.New > 0 {
		return res, s.prune(ctx, tx, inc.ID, merged.LastSeen)
	}
	return res, nil
}

func (s *sqlStore) recordHistory(ctx context.Context, tx *sql.Tx, id string, res IngestResult, inc incident.Incident) error {
	version := ""
	if len(inc.Versions) > 0 {
		version = inc.Versions[len(inc.Versions)-1]
	}
	if res.Created {
		if err := s.addHistory(ctx, tx, id, HistoryEvent{Kind: "seen", Time: inc.FirstSeen, Version: version}); err != nil {
			return err
		}
	}
	if res.Regressed {
		return s.addHistory(ctx, tx, id, HistoryEvent{Kind: "regressed", Time: inc.LastSeen, Version: version})
	}
	return nil
}

// insertOccurrences stores the occurrences whose key is new and returns
// their times. The unique key makes a concurrent insert of the same key by
// another replica wait for it and then do nothing.
func (s *sqlStore) insertOccurrences(ctx context.Context, tx *sql.Tx, id string, occs []Occurrence) ([]time.Time, error) {
	var fresh []time.Time
	stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO occurrences (key, incident_id, at, version, message, labels)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`))
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, o := range occs {
		if o.Key == "" {
			return nil, errors.New("occurrence without a key")
		}
		labels, err := json.Marshal(o.Labels)
		if err != nil {
			return nil, fmt.Errorf("encode occurrence labels: %w", err)
		}
		r, err := stmt.ExecContext(ctx, o.Key, id, ns(o.Time), o.Version, o.Message, string(labels))
		if err != nil {
			return nil, fmt.Errorf("insert occurrence: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 1 {
			fresh = append(fresh, o.Time)
		}
	}
	return fresh, nil
}

// prune keeps the newest MaxOccurrences of an incident, but never drops a
// key younger than KeepKeysFor before its last_seen: a poller may read it
// again.
func (s *sqlStore) prune(ctx context.Context, tx *sql.Tx, id string, lastSeen time.Time) error {
	horizon := ns(lastSeen.Add(-s.opt.KeepKeysFor))
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM occurrences WHERE incident_id = ? AND at < ? AND key NOT IN
		(SELECT key FROM occurrences WHERE incident_id = ? ORDER BY at DESC, key LIMIT ?)`),
		id, horizon, id, s.opt.MaxOccurrences)
	if err != nil {
		return fmt.Errorf("prune occurrences: %w", err)
	}
	return nil
}

// merge folds a poll's view of an incident into the stored one. The poll
// decides the analysis (location at today's HEAD, root cause, fixes); the
// store decides the counters, which only ever accumulate new occurrences.
func merge(old, inc incident.Incident, count int, fresh []time.Time, existed bool) incident.Incident {
	out := inc
	out.Count = count + len(fresh)
	out.FirstSeen, out.LastSeen = inc.FirstSeen, inc.LastSeen
	for _, t := range fresh {
		if t.Before(out.FirstSeen) || out.FirstSeen.IsZero() {
			out.FirstSeen = t
		}
		if t.After(out.LastSeen) {
			out.LastSeen = t
		}
	}
	if existed {
		if !old.FirstSeen.IsZero() && old.FirstSeen.Before(out.FirstSeen) {
			out.FirstSeen = old.FirstSeen
		}
		if old.LastSeen.After(out.LastSeen) {
			out.LastSeen = old.LastSeen
		}
	}
	out.FirstSeen, out.LastSeen = out.FirstSeen.UTC(), out.LastSeen.UTC()
	out.Versions = unionVersions(old.Versions, inc.Versions)
	out.Timeline = addBuckets(old.Timeline, fresh)
	return out
}

func unionVersions(a, b []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, list := range [][]string{a, b} {
		for _, v := range list {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	if len(out) > maxVersions {
		out = out[len(out)-maxVersions:]
	}
	return out
}

func addBuckets(old []incident.Bucket, fresh []time.Time) []incident.Bucket {
	counts := map[int64]int{}
	for _, b := range old {
		counts[b.Start.Unix()] += b.Count
	}
	for _, t := range fresh {
		counts[t.Truncate(bucketWidth).Unix()]++
	}
	out := make([]incident.Bucket, 0, len(counts))
	for k, n := range counts {
		out = append(out, incident.Bucket{Start: time.Unix(k, 0).UTC(), Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	if len(out) > maxBuckets {
		out = out[len(out)-maxBuckets:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
