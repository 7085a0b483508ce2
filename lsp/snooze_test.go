package lsp

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// TestSnoozeAction: every faultline diagnostic offers "Snooze this
// incident"; running it records the snooze through the hook (which writes
// .faultline/ignore in the real server) and polls again at once.
func TestSnoozeAction(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	var mu sync.Mutex
	var got []string
	var gotUntil time.Time
	c := startClient(t, serverSetup{engine: eng, snooze: func(r string, inc incident.Incident, until time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r+" "+inc.ID)
		gotUntil = until
		return nil
	}})
	c.initialize(root)
	cart := filepath.Join(root, "cart/cart.go")
	c.diagsFor(cart)

	var acts []protocol.CodeAction
	if err := c.call(protocol.MethodTextDocumentCodeAction, map[string]any{"textDocument": map[string]string{"uri": pathToURI(cart)},
		"range": rng(6, 0, 6, 0), "context": map[string]any{"diagnostics": []any{}}}, &acts); err != nil {
		t.Fatal(err)
	}
	var snooze *protocol.CodeAction
	for i := range acts {
		if strings.HasPrefix(acts[i].Title, "Snooze this incident") {
			snooze = &acts[i]
		}
	}
	if snooze == nil || snooze.Command == nil || snooze.Command.Command != cmdSnooze {
		t.Fatalf("no snooze action among %+v", acts)
	}
	eng.mu.Lock()
	before := eng.calls
	eng.mu.Unlock()
	var res map[string]string
	raw, _ := json.Marshal(snooze.Command.Arguments[0])
	var arg map[string]any
	json.Unmarshal(raw, &arg)
	if err := c.command(cmdSnooze, arg, &res); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != root+" inc-index" {
		t.Errorf("snooze hook got %v", got)
	}
	if want := testNow.Add(snoozeDays * 24 * time.Hour); !gotUntil.Equal(want) || res["until"] != want.Format(time.RFC3339) {
		t.Errorf("snoozed until %v (%v), want %v", gotUntil, res, want)
	}
	eng.mu.Lock()
	after := eng.calls
	eng.mu.Unlock()
	if after <= before {
		t.Error("no poll after snoozing: the diagnostic would stay until the next interval")
	}
}
