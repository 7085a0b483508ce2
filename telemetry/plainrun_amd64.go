//go:build !purego

package telemetry

import "golang.org/x/sys/cpu"

// blockMasks returns, one bit per byte of the 64 at p, the '"' bytes, the
// '\' bytes, the control characters and the bytes past ASCII. In assembly,
// with AVX2 where the processor has it and SSE2 (which every amd64 one has)
// where not: the JSON string scan was the largest single cost of reading a
// log file. blockMasksGeneric is the same in Go.
func blockMasks(p *[64]byte) (quote, backslash, control, high uint64) {
	if hasAVX2 {
		return blockMasksAVX2(p)
	}
	return blockMasksSSE2(p)
}

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func blockMasksSSE2(p *[64]byte) (quote, backslash, control, high uint64)

//go:noescape
func blockMasksAVX2(p *[64]byte) (quote, backslash, control, high uint64)
