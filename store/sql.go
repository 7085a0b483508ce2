package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// dialect is what differs between SQLite and PostgreSQL: placeholders and
// row locking. Everything else is the same SQL.
type dialect struct {
	name      string
	dollar    bool   // $1 placeholders instead of ?
	forUpdate string // row lock suffix for SELECT inside a transaction
}

var (
	sqliteDialect   = dialect{name: "sqlite"}
	postgresDialect = dialect{name: "postgres", dollar: true, forUpdate: " FOR UPDATE"}
)

// rebind turns ? placeholders into the dialect's.
func (d dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqlStore implements Store on database/sql for both dialects.
type sqlStore struct {
	db  *sql.DB
	d   dialect
	opt Options
}

// OpenSQLite opens the SQLite file at path, creating it and its folder.
// Writes take the database lock at BEGIN (immediate transactions) and wait
// up to 10s for it, so two processes on one file queue rather than fail.
func OpenSQLite(ctx context.Context, path string, opt Options) (Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if opt.MaxSQLitePages > 0 {
		dsn += fmt.Sprintf("&_pragma=max_page_count(%d)", opt.MaxSQLitePages)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return newSQLStore(ctx, db, sqliteDialect, opt, "sqlite store "+path)
}

// OpenPostgres connects to PostgreSQL (a URL or key=value DSN).
func OpenPostgres(ctx context.Context, dsn string, opt Options) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return newSQLStore(ctx, db, postgresDialect, opt, "postgres store")
}

func newSQLStore(ctx context.Context, db *sql.DB, d dialect, opt Options, what string) (Store, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return &sqlStore{db: db, d: d, opt: opt.withDefaults()}, nil
}

func (s *sqlStore) Close() error { return s.db.Close() }

func (s *sqlStore) q(query string) string { return s.d.rebind(query) }

// tx runs fn in a transaction, committing when it returns nil.
func (s *sqlStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }

// bumpRevision moves the store revision and returns the new value.
func (s *sqlStore) bumpRevision(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE store_meta SET value = value + 1 WHERE key = 'revision' RETURNING value`).Scan(&rev)
	return rev, err
}

func (s *sqlStore) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'revision'`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read store revision: %w", err)
	}
	return rev, nil
}

func (s *sqlStore) Count(ctx context.Context) (incidents, occurrences int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM incidents WHERE data <> ''), (SELECT COUNT(*) FROM occurrences)`).
		Scan(&incidents, &occurrences)
	if err != nil {
		return 0, 0, fmt.Errorf("count incidents: %w", err)
	}
	return incidents, occurrences, nil
}

const recordColumns = `repo, revision, resolved_at, data`

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var resolved sql.NullInt64
	var data string
	if err := row.Scan(&r.Repo, &r.Revision, &resolved, &data); err != nil {
		return r, err
	}
	if resolved.Valid {
		r.ResolvedAt = fromNS(resolved.Int64)
	}
	if err := json.Unmarshal([]byte(data), &r.Incident); err != nil {
		return r, fmt.Errorf("decode stored incident: %w", err)
	}
	return r, nil
}

func (s *sqlStore) Incident(ctx context.Context, id string) (Record, error) {
	row := s.db.QueryRowContext(ctx, s.q(`SELECT `+recordColumns+` FROM incidents WHERE id = ? AND data <> ''`), id)
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("incident %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read incident %s: %w", id, err)
	}
	return r, nil
}

func (s *sqlStore) Incidents(ctx context.Context, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	var since int64
	if !f.Since.IsZero() {
		since = ns(f.Since)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+recordColumns+` FROM incidents
		WHERE data <> '' AND (? = '' OR service = ?) AND (? = '' OR repo = ?) AND last_seen >= ?
		ORDER BY last_seen DESC, id LIMIT ?`), f.Service, f.Service, f.Repo, f.Repo, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Occurrences(ctx context.Context, id string, limit int) ([]Occurrence, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key, at, version, message, labels FROM occurrences
		WHERE incident_id = ? ORDER BY at DESC, key LIMIT ?`), id, limit)
	if err != nil {
		return nil, fmt.Errorf("list occurrences of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Occurrence
	for rows.Next() {
		o := Occurrence{IncidentID: id}
		var at int64
		var labels string
		if err := rows.Scan(&o.Key, &at, &o.Version, &o.Message, &labels); err != nil {
			return nil, fmt.Errorf("list occurrences of %s: %w", id, err)
		}
		o.Time = fromNS(at)
		if err := json.Unmarshal([]byte(labels), &o.Labels); err != nil {
			return nil, fmt.Errorf("decode occurrence labels: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s *sqlStore) History(ctx context.Context, id string) ([]HistoryEvent, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, at, version, note FROM history
		WHERE incident_id = ? ORDER BY at, id`), id)
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []HistoryEvent
	for rows.Next() {
		var h HistoryEvent
		var at int64
		if err := rows.Scan(&h.Kind, &at, &h.Version, &h.Note); err != nil {
			return nil, fmt.Errorf("read history of %s: %w", id, err)
		}
		h.Time = fromNS(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s *sqlStore) addHistory(ctx context.Context, tx *sql.Tx, id string, h HistoryEvent) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO history (incident_id, kind, at, version, note) VALUES (?, ?, ?, ?, ?)`),
		id, h.Kind, ns(h.Time), h.Version, h.Note)
	return err
}

func (s *sqlStore) Resolve(ctx context.Context, id string, t time.Time, note string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rev, err := s.bumpRevision(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE incidents SET resolved_at = ?, revision = ? WHERE id = ?`), ns(t), rev, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.addHistory(ctx, tx, id, HistoryEvent{Kind: "resolved", Time: t, Note: note})
	})
	if err != nil {
		return fmt.Errorf("resolve incident %s: %w", id, err)
	}
	return nil
}

func (s *sqlStore) SetFix(ctx context.Context, f FixState) error {
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = time.Now()
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO fixes (incident_id, state, title, pr_url, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, title = excluded.title,
		pr_url = excluded.pr_url, updated_at = excluded.updated_at`),
		f.IncidentID, f.State, f.Title, f.PRURL, ns(f.UpdatedAt))
	if err != nil {
		return fmt.Errorf("record fix state of %s: %w", f.IncidentID, err)
	}
	return nil
}

func (s *sqlStore) Fix(ctx context.Context, id string) (FixState, error) {
	f := FixState{IncidentID: id}
	var at int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT state, title, pr_url, updated_at FROM fixes WHERE incident_id = ?`), id).
		Scan(&f.State, &f.Title, &f.PRURL, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("fix state of %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read fix state of %s: %w", id, err)
	}
	f.UpdatedAt = fromNS(at)
	return f, nil
}

func (s *sqlStore) Cursor(ctx context.Context, name string) (time.Time, error) {
	var at int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT at FROM cursors WHERE name = ?`), name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read cursor %s: %w", name, err)
	}
	return fromNS(at), nil
}

func (s *sqlStore) SetCursor(ctx context.Context, name string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO cursors (name, at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET at = CASE WHEN excluded.at > cursors.at THEN excluded.at ELSE cursors.at END`),
		name, ns(t))
	if err != nil {
		return fmt.Errorf("write cursor %s: %w", name, err)
	}
	return nil
}
