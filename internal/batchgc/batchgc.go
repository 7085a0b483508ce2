// Package batchgc sets the garbage collector for a batch run of the
// pipeline (`faultline check` over a log file).
//
// The pipeline's live heap is small and bounded by the distinct incidents
// (a few MB), while reading a large log allocates steadily: with Go's
// default GOGC=100 the collector then runs every few MB read, and on the
// crash-storm benchmark it took a sixth of the CPU. A batch run can afford
// a heap a few times its live size; the editor's long-running server keeps
// the default.
package batchgc

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC a batch run uses when the user has not set one.
// Measured on the crash-storm benchmark (20 MB, 2 cores, one run each in
// turns): 456-471 MB/s with GOGC=100, 539-564 MB/s with 400.
const Percent = 400

// Tune sets the collector for a batch run, unless GOGC is set in the
// environment (the user's choice wins), and returns what restores it.
func Tune() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(Percent)
	return func() { debug.SetGCPercent(old) }
}
