package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

// TestLokiFollow: entries pushed after Follow starts arrive once each,
// through the live tail or, when the tail is refused, through polling.
func TestLokiFollow(t *testing.T) {
	for _, tailDisabled := range []bool{false, true} {
		name := map[bool]string{false: "tail", true: "fallback to polling"}[tailDisabled]
		t.Run(name, func(t *testing.T) {
			srv := lokitest.New()
			defer srv.Close()
			srv.TailDisabled = tailDisabled
			svc := map[string]string{"service": "s"}
			now := time.Now().Truncate(time.Second)
			pushLoki(t, srv, svc, push.Entry{Timestamp: now.Add(-time.Hour), Line: "before start"})
			l, _ := testLoki(t, srv, LokiConfig{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan string, 10)
			done := make(chan error, 1)
			go func() {
				done <- l.Follow(ctx, Query{Start: now.Add(-time.Minute)}, 5*time.Millisecond, func(e incident.Event) error {
					got <- e.Line
					return nil
				})
			}()
			pushLoki(t, srv, svc, push.Entry{Timestamp: now, Line: "one"})
			expect(t, got, "one")
			pushLoki(t, srv, svc, push.Entry{Timestamp: now, Line: "two"}, push.Entry{Timestamp: now.Add(time.Millisecond), Line: "three"})
			expect(t, got, "two")
			expect(t, got, "three")
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Follow returned %v, want context.Canceled", err)
			}
			select {
			case extra := <-got:
				t.Errorf("delivered %q twice or unexpectedly", extra)
			default:
			}
			sawTail := false
			for _, r := range srv.Requests() {
				sawTail = sawTail || r.Path == "/loki/api/v1/tail"
			}
			if !sawTail {
				t.Error("tail was never tried")
			}
		})
	}
}

// expect waits for the next delivered line; the timeout only guards
// against a hung test, it asserts nothing about speed.
func expect(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case line := <-got:
		if line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q delivered", want)
	}
}
