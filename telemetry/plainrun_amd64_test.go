//go:build !purego

package telemetry

// archBlockMasks are the versions of blockMasks this processor can run,
// each checked on its own whatever blockMasks picks.
func archBlockMasks() map[string]func(*[64]byte) (uint64, uint64, uint64, uint64) {
	m := map[string]func(*[64]byte) (uint64, uint64, uint64, uint64){"SSE2": blockMasksSSE2}
	if hasAVX2 {
		m["AVX2"] = blockMasksAVX2
	}
	return m
}
