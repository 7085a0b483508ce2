//go:build !amd64 || purego

package telemetry

// scanStringBody: see scanStringBodyGeneric.
func scanStringBody(b []byte) (n int, flags int) { return scanStringBodyGeneric(b) }
