package batchgc

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneKeepsTheUsersGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	restore := Tune()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, Tune changed the percent to %d", got)
	}
	restore()
}

func TestTuneSetsAndRestores(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set in this environment")
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	restore := Tune()
	if got := debug.SetGCPercent(Percent); got != Percent {
		t.Errorf("Tune set %d, want %d", got, Percent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("restore left %d, want 100", got)
	}
}
