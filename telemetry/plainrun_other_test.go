//go:build !amd64 || purego

package telemetry

func archBlockMasks() map[string]func(*[64]byte) (uint64, uint64, uint64, uint64) { return nil }
