//go:build !amd64 || purego

package telemetry

// blockMasks: see blockMasksGeneric.
func blockMasks(p *[64]byte) (quote, backslash, control, high uint64) {
	return blockMasksGeneric(p)
}
