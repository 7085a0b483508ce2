package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/store/pgtest"
)

// opener opens a new handle on one fresh database per call of newDB: the
// suite opens several handles on one database to act as replicas or as a
// restarted process.
type newDB func(t *testing.T) (open func(opt store.Options) store.Store)

// TestSQLite runs the conformance suite on the embedded SQLite store.
func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) func(store.Options) store.Store {
		path := filepath.Join(t.TempDir(), "sub", "correlator.db")
		return opener(t, "sqlite:"+path)
	})
}

// TestPostgres runs the same suite on a PostgreSQL server the test starts
// (skipped without Debian's postgresql package).
func TestPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	n := 0
	runSuite(t, func(t *testing.T) func(store.Options) store.Store {
		n++
		return opener(t, "postgres:"+pg.CreateDB(t, fmt.Sprintf("suite_%d", n)))
	})
}

func opener(t *testing.T, spec string) func(store.Options) store.Store {
	return func(opt store.Options) store.Store {
		s, err := store.Open(context.Background(), spec, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func runSuite(t *testing.T, db newDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(store.Options) store.Store)
	}{
		{"IngestCountsNewOccurrencesOnly", testIngestIdempotent},
		{"CountersAreMonotonic", testMonotonic},
		{"ReplicasNeverDoubleCount", testConcurrentReplicas},
		{"SurvivesReopen", testReopen},
		{"ResolveThenRegress", testRegression},
		{"FixState", testFixState},
		{"CursorOnlyMovesForward", testCursor},
		{"RevisionMovesOnChangeOnly", testRevision},
		{"Filter", testFilter},
		{"PruneKeepsRecentKeys", testPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, db(t)) })
	}
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func inc(id, service string, first, last time.Time, versions ...string) incident.Incident {
	return incident.Incident{
		ID: id, Service: service, Env: "prod", Versions: versions,
		ErrorType: "runtime error: index out of range", Message: "panic: runtime error: index out of range [3] with length 3",
		Count: 99, FirstSeen: first, LastSeen: last,
		Location:  &incident.Location{File: "cart/total.go", Line: 42, Column: 5, Function: "cart.Total"},
		Frames:    []incident.MappedFrame{{Function: "cart.Total", File: "cart/total.go", Line: 42, InApp: true, OriginalPath: "/app/cart/total.go", OriginalLine: 40}},
		RootCause: &incident.RootCause{Summary: "introduced by abc", Confidence: 0.8, Evidence: []incident.Evidence{{Kind: "deploy", Text: "x"}}, Fixable: true},
		Fixes:     []incident.Fix{},
	}
}

// occs makes n occurrences of one stream, a minute apart from start.
func occs(service string, start time.Time, n int) []store.Occurrence {
	var out []store.Occurrence
	for i := 0; i < n; i++ {
		labels := map[string]string{"service": service, "env": "prod", "pod": "p-1"}
		at := start.Add(time.Duration(i) * time.Minute)
		msg := "panic: runtime error: index out of range [3] with length 3"
		out = append(out, store.Occurrence{Key: store.OccurrenceKey(labels, at, msg), Time: at, Message: msg, Labels: labels, Version: "v1"})
	}
	return out
}

func mustIngest(t *testing.T, s store.Store, repo string, i incident.Incident, o []store.Occurrence) store.IngestResult {
	t.Helper()
	r, err := s.Ingest(context.Background(), repo, i, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustGet(t *testing.T, s store.Store, id string) store.Record {
	t.Helper()
	r, err := s.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testIngestIdempotent(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	o := occs("checkout", t0, 3)
	r := mustIngest(t, s, "shop", inc("a1", "checkout", t0, t0.Add(2*time.Minute), "v1"), o)
	if !r.Created || r.New != 3 || !r.Changed {
		t.Fatalf("first ingest = %+v, want created with 3 new", r)
	}
	// The next poll re-reads the window (overlap) and finds one more.
	o = append(o, occs("checkout", t0.Add(3*time.Minute), 1)...)
	r = mustIngest(t, s, "shop", inc("a1", "checkout", t0, t0.Add(3*time.Minute), "v1"), o)
	if r.Created || r.New != 1 {
		t.Fatalf("second ingest = %+v, want 1 new", r)
	}
	got := mustGet(t, s, "a1")
	if got.Incident.Count != 4 {
		t.Errorf("count = %d, want 4 (the poll's own count 99 must not leak in)", got.Incident.Count)
	}
	if got.Repo != "shop" || got.Incident.Location == nil || got.Incident.Location.Line != 42 || got.Incident.RootCause == nil {
		t.Errorf("stored incident lost its analysis: %+v", got)
	}
	if n := sumTimeline(got.Incident.Timeline); n != 4 {
		t.Errorf("timeline sums to %d, want 4", n)
	}
	stored, err := s.Occurrences(context.Background(), "a1", 0)
	if err != nil || len(stored) != 4 || !stored[0].Time.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("occurrences = %d (newest %v), %v; want 4, newest first", len(stored), stored, err)
	}
}

func sumTimeline(b []incident.Bucket) int {
	n := 0
	for _, x := range b {
		n += x.Count
	}
	return n
}

func testMonotonic(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	mustIngest(t, s, "", inc("m1", "checkout", t0, t0.Add(time.Hour), "v1"), occs("checkout", t0, 2))
	// A later, narrower poll window sees only recent occurrences and a new
	// version: first_seen must stay, versions must grow.
	mustIngest(t, s, "", inc("m1", "checkout", t0.Add(50*time.Minute), t0.Add(55*time.Minute), "v2"), nil)
	got := mustGet(t, s, "m1").Incident
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("first/last = %v/%v, want %v/%v", got.FirstSeen, got.LastSeen, t0, t0.Add(time.Hour))
	}
	if strings.Join(got.Versions, ",") != "v1,v2" || got.Count != 2 {
		t.Errorf("versions %v count %d, want v1,v2 and 2", got.Versions, got.Count)
	}
}

// testConcurrentReplicas ingests the same overlapping batches from several
// handles at once, as replicas polling one backend do.
func testConcurrentReplicas(t *testing.T, open func(store.Options) store.Store) {
	const replicas, incidents, per = 4, 5, 20
	handles := make([]store.Store, replicas)
	for i := range handles {
		handles[i] = open(store.Options{})
	}
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for r := 0; r < replicas; r++ {
		wg.Add(1)
		go func(s store.Store, r int) {
			defer wg.Done()
			for k := 0; k < incidents; k++ {
				id := fmt.Sprintf("c%d", (k+r)%incidents) // replicas visit in different orders
				svc := "svc-" + id
				for _, batch := range [][2]int{{0, 12}, {8, 20}} { // overlapping windows
					o := occs(svc, t0, per)[batch[0]:batch[1]]
					if _, err := s.Ingest(context.Background(), "", inc(id, svc, t0, t0.Add(time.Hour)), o); err != nil {
						errs <- err
						return
					}
				}
			}
		}(handles[r], r)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ni, no, err := handles[2].Count(context.Background()); err != nil || ni != incidents || no != incidents*per {
		t.Errorf("count = %d incidents, %d occurrences, %v; want %d, %d", ni, no, err, incidents, incidents*per)
	}
	for k := 0; k < incidents; k++ {
		id := fmt.Sprintf("c%d", k)
		if got := mustGet(t, handles[0], id).Incident.Count; got != per {
			t.Errorf("%s: count = %d, want %d", id, got, per)
		}
		h, _ := handles[1].History(context.Background(), id)
		if len(h) != 1 || h[0].Kind != "seen" {
			t.Errorf("%s: history = %+v, want one seen", id, h)
		}
	}
}

func testReopen(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	mustIngest(t, s, "shop", inc("r1", "checkout", t0, t0, "v1"), occs("checkout", t0, 1))
	if err := s.SetCursor(context.Background(), "poll", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(store.Options{}) // migrations run again and must be a no-op
	if got := mustGet(t, s2, "r1").Incident.Count; got != 1 {
		t.Errorf("count after reopen = %d, want 1", got)
	}
	if c, _ := s2.Cursor(context.Background(), "poll"); !c.Equal(t0.Add(time.Hour)) {
		t.Errorf("cursor after reopen = %v", c)
	}
	if r := mustIngest(t, s2, "shop", inc("r1", "checkout", t0, t0, "v1"), occs("checkout", t0, 1)); r.New != 0 || r.Created {
		t.Errorf("re-ingest after reopen = %+v, want nothing new", r)
	}
}

func testRegression(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	ctx := context.Background()
	mustIngest(t, s, "", inc("g1", "checkout", t0, t0.Add(time.Minute), "v1"), occs("checkout", t0, 2))
	if err := s.Resolve(ctx, "g1", t0.Add(time.Hour), "fixed in #12"); err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(ctx, "nope", t0, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("resolve unknown = %v, want ErrNotFound", err)
	}
	// Re-reading the old occurrences is not a regression.
	if r := mustIngest(t, s, "", inc("g1", "checkout", t0, t0.Add(time.Minute), "v1"), occs("checkout", t0, 2)); r.Regressed {
		t.Error("re-read of old occurrences counted as a regression")
	}
	r := mustIngest(t, s, "", inc("g1", "checkout", t0, t0.Add(2*time.Hour), "v2"), occs("checkout", t0.Add(2*time.Hour), 1))
	if !r.Regressed {
		t.Fatalf("ingest after resolve = %+v, want regressed", r)
	}
	h, err := s.History(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range h {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "seen,resolved,regressed" {
		t.Errorf("history = %v, want seen,resolved,regressed", kinds)
	}
	if rec := mustGet(t, s, "g1"); !rec.ResolvedAt.IsZero() {
		t.Errorf("resolved_at = %v after regression, want cleared", rec.ResolvedAt)
	}
}

func testFixState(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	ctx := context.Background()
	if _, err := s.Fix(ctx, "f1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("fix of unknown = %v, want ErrNotFound", err)
	}
	for _, st := range []store.FixState{
		{IncidentID: "f1", State: "proposed", Title: "guard index", UpdatedAt: t0},
		{IncidentID: "f1", State: "pr_open", Title: "guard index", PRURL: "https://github.com/o/r/pull/7", UpdatedAt: t0.Add(time.Minute)},
	} {
		if err := s.SetFix(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Fix(ctx, "f1")
	if err != nil || got.State != "pr_open" || got.PRURL != "https://github.com/o/r/pull/7" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("fix = %+v, %v", got, err)
	}
}

func testCursor(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	ctx := context.Background()
	for _, at := range []time.Time{t0.Add(time.Hour), t0, t0.Add(2 * time.Hour), t0.Add(time.Minute)} {
		if err := s.SetCursor(ctx, "loki", at); err != nil {
			t.Fatal(err)
		}
	}
	if c, err := s.Cursor(ctx, "loki"); err != nil || !c.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("cursor = %v, %v; want the latest", c, err)
	}
	if c, err := s.Cursor(ctx, "other"); err != nil || !c.IsZero() {
		t.Errorf("unset cursor = %v, %v; want zero", c, err)
	}
}

func testRevision(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	ctx := context.Background()
	r0, _ := s.Revision(ctx)
	mustIngest(t, s, "", inc("v1", "checkout", t0, t0), occs("checkout", t0, 1))
	r1, _ := s.Revision(ctx)
	mustIngest(t, s, "", inc("v1", "checkout", t0, t0), occs("checkout", t0, 1))
	r2, _ := s.Revision(ctx)
	if r1 <= r0 || r2 != r1 {
		t.Errorf("revisions %d, %d, %d: want a move on change and none on a no-op re-read", r0, r1, r2)
	}
	if rec := mustGet(t, s, "v1"); rec.Revision != r1 {
		t.Errorf("record revision = %d, want %d", rec.Revision, r1)
	}
}

func testFilter(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{})
	mustIngest(t, s, "shop", inc("x1", "checkout", t0, t0), occs("checkout", t0, 1))
	mustIngest(t, s, "shop", inc("x2", "cart", t0, t0.Add(2*time.Hour)), occs("cart", t0.Add(2*time.Hour), 1))
	mustIngest(t, s, "billing", inc("x3", "invoice", t0, t0.Add(time.Hour)), occs("invoice", t0.Add(time.Hour), 1))
	tests := []struct {
		f    store.Filter
		want string
	}{
		{store.Filter{}, "x2,x3,x1"},
		{store.Filter{Service: "checkout"}, "x1"},
		{store.Filter{Repo: "shop"}, "x2,x1"},
		{store.Filter{Since: t0.Add(30 * time.Minute)}, "x2,x3"},
		{store.Filter{Limit: 1}, "x2"},
		{store.Filter{Service: "nope"}, ""},
	}
	for _, tc := range tests {
		recs, err := s.Incidents(context.Background(), tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.Incident.ID)
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.f, got, tc.want)
		}
	}
}

func testPrune(t *testing.T, open func(store.Options) store.Store) {
	s := open(store.Options{MaxOccurrences: 5, KeepKeysFor: 10 * time.Minute})
	o := occs("checkout", t0, 30) // one a minute for 30 minutes
	mustIngest(t, s, "", inc("p1", "checkout", t0, t0.Add(29*time.Minute)), o)
	kept, err := s.Occurrences(context.Background(), "p1", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The newest 5, plus everything within 10 minutes of last_seen: 11.
	if len(kept) != 11 {
		t.Errorf("kept %d occurrences, want 11", len(kept))
	}
	// A re-read of the recent window (what a poller does) adds nothing.
	if r := mustIngest(t, s, "", inc("p1", "checkout", t0, t0.Add(29*time.Minute)), o[20:]); r.New != 0 {
		t.Errorf("re-read of the recent window counted %d again", r.New)
	}
	if got := mustGet(t, s, "p1").Incident.Count; got != 30 {
		t.Errorf("count = %d, want 30", got)
	}
}
