package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// PushedEntry is one log entry received on the correlator's push endpoints.
// It is written before the push is acknowledged, so an acknowledged entry
// survives a crash, and marked processed once the analysis has taken it in.
type PushedEntry struct {
	Seq    int64 // arrival order, set by the store
	Key    string
	Tenant string
	Labels map[string]string
	Time   time.Time
	Line   string
}

// PushedKey identifies a pushed entry however often an agent re-sends it:
// the tenant, the stream (its LabelsKey), the timestamp and the line.
func PushedKey(tenant, streamKey string, t time.Time, line string) string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(streamKey))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(t.UnixNano(), 10)))
	h.Write([]byte{0})
	h.Write([]byte(line))
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// PushLog is the write-ahead log of pushed entries. The SQL stores
// implement it; it is a separate interface so that Store's other
// implementations need not.
type PushLog interface {
	// AppendPushed stores the entries whose key is not stored yet, in one
	// transaction, and returns those (with Seq set) in the given order.
	AppendPushed(ctx context.Context, entries []PushedEntry, received time.Time) ([]PushedEntry, error)
	// PendingPushed returns unprocessed entries with Seq > after, oldest
	// first, at most limit.
	PendingPushed(ctx context.Context, after int64, limit int) ([]PushedEntry, error)
	// MarkPushed marks entries processed.
	MarkPushed(ctx context.Context, seqs []int64) error
	// PrunePushed deletes processed entries received before t; their keys
	// no longer deduplicate a re-send, the occurrence keys still do.
	PrunePushed(ctx context.Context, before time.Time) (int64, error)
	// CountPushed returns how many entries are unprocessed and stored.
	CountPushed(ctx context.Context) (pending, total int64, err error)
}

var _ PushLog = (*sqlStore)(nil)

func (s *sqlStore) AppendPushed(ctx context.Context, entries []PushedEntry, received time.Time) ([]PushedEntry, error) {
	var fresh []PushedEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		fresh = fresh[:0]
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO pushed_entries (key, tenant, labels, at, line, received_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING seq`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		var lastLabels map[string]string
		var enc string
		for _, e := range entries {
			if e.Key == "" {
				return fmt.Errorf("pushed entry without a key")
			}
			if !sameMap(e.Labels, lastLabels) {
				b, err := json.Marshal(e.Labels)
				if err != nil {
					return fmt.Errorf("encode labels: %w", err)
				}
				enc, lastLabels = string(b), e.Labels
			}
			var seq int64
			err := stmt.QueryRowContext(ctx, e.Key, e.Tenant, enc, ns(e.Time), e.Line, ns(received)).Scan(&seq)
			if err == sql.ErrNoRows {
				continue // already stored: a re-send
			}
			if err != nil {
				return err
			}
			e.Seq = seq
			fresh = append(fresh, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store pushed entries: %w", err)
	}
	return fresh, nil
}

// sameMap reports whether a and b are the same map (not merely equal):
// the entries of one pushed stream share their labels map.
func sameMap(a, b map[string]string) bool {
	if a == nil || b == nil {
		return false
	}
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func (s *sqlStore) PendingPushed(ctx context.Context, after int64, limit int) ([]PushedEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, key, tenant, labels, at, line FROM pushed_entries
		WHERE processed = 0 AND seq > ? ORDER BY seq LIMIT ?`), after, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending pushed entries: %w", err)
	}
	defer rows.Close()
	var out []PushedEntry
	var lastRaw string
	var last map[string]string
	for rows.Next() {
		var e PushedEntry
		var raw string
		var at int64
		if err := rows.Scan(&e.Seq, &e.Key, &e.Tenant, &raw, &at, &e.Line); err != nil {
			return nil, fmt.Errorf("read pending pushed entries: %w", err)
		}
		if raw != lastRaw || last == nil {
			last = map[string]string{}
			if err := json.Unmarshal([]byte(raw), &last); err != nil {
				return nil, fmt.Errorf("decode labels of pushed entry %d: %w", e.Seq, err)
			}
			lastRaw = raw
		}
		e.Labels, e.Time = last, fromNS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending pushed entries: %w", err)
	}
	return out, nil
}

// markChunk keeps the IN lists well under both dialects' parameter limits.
const markChunk = 500

func (s *sqlStore) MarkPushed(ctx context.Context, seqs []int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for len(seqs) > 0 {
			n := min(len(seqs), markChunk)
			args := make([]any, n)
			for i, v := range seqs[:n] {
				args[i] = v
			}
			q := `UPDATE pushed_entries SET processed = 1 WHERE seq IN (?` + strings.Repeat(", ?", n-1) + `)`
			if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
				return err
			}
			seqs = seqs[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark pushed entries processed: %w", err)
	}
	return nil
}

func (s *sqlStore) PrunePushed(ctx context.Context, before time.Time) (int64, error) {
	r, err := s.db.ExecContext(ctx, s.q(`DELETE FROM pushed_entries WHERE processed = 1 AND received_at < ?`), ns(before))
	if err != nil {
		return 0, fmt.Errorf("prune pushed entries: %w", err)
	}
	n, _ := r.RowsAffected()
	return n, nil
}

func (s *sqlStore) CountPushed(ctx context.Context) (pending, total int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM pushed_entries WHERE processed = 0), (SELECT COUNT(*) FROM pushed_entries)`).Scan(&pending, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("count pushed entries: %w", err)
	}
	return pending, total, nil
}
