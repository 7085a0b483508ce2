package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TestFullDisk: when the store cannot grow (a full disk; here SQLite's
// max_page_count, which fails the same way), ingestion fails with a clear
// error, what was committed stays readable and consistent, and once there
// is room again ingestion resumes without losing or double-counting.
func TestFullDisk(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := OpenSQLite(ctx, path, Options{MaxSQLitePages: 48})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ingest := func(st Store, i int) error {
		inc := incident.Incident{ID: fmt.Sprintf("inc-%04d", i), Service: "checkout", Env: "prod", Count: 1,
			FirstSeen: t0.Add(time.Duration(i) * time.Second), LastSeen: t0.Add(time.Duration(i) * time.Second),
			Message: strings.Repeat("panic: runtime error: index out of range ", 40)}
		occ := Occurrence{Key: fmt.Sprintf("k-%04d", i), IncidentID: inc.ID, Time: inc.FirstSeen, Message: inc.Message,
			Labels: map[string]string{"service": "checkout"}}
		_, err := st.Ingest(ctx, "shop", inc, []Occurrence{occ})
		return err
	}
	stored, failed := 0, error(nil)
	for i := 0; i < 2000; i++ {
		if err := ingest(st, i); err != nil {
			failed = err
			break
		}
		stored++
	}
	if failed == nil {
		t.Fatal("2000 incidents fit in 48 pages: the cap did not apply")
	}
	if !strings.Contains(failed.Error(), "full") {
		t.Errorf("error %q does not say the store is full", failed)
	}
	n, occs, err := st.Count(ctx)
	if err != nil {
		t.Fatalf("reading a full store: %v", err)
	}
	if int(n) != stored || int(occs) != stored {
		t.Errorf("after the failure: %d incidents, %d occurrences; want the %d committed ones", n, occs, stored)
	}
	st.Close()

	// Room again: reopen without the cap, re-ingest everything (a poller
	// re-reads its window): nothing lost, nothing counted twice.
	st, err = OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 0; i <= stored; i++ {
		if err := ingest(st, i); err != nil {
			t.Fatalf("ingest %d after freeing space: %v", i, err)
		}
	}
	n, occs, _ = st.Count(ctx)
	if int(n) != stored+1 || int(occs) != stored+1 {
		t.Errorf("after recovery: %d incidents, %d occurrences; want %d each", n, occs, stored+1)
	}
}
