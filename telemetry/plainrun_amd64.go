//go:build !purego

package telemetry

// scanStringBody is scanStringBodyGeneric sixteen bytes per step with SSE2,
// which every amd64 processor has: the JSON string scan was the largest
// single cost of reading a log file, and eight bytes at a time was what
// portable Go could do.
func scanStringBody(b []byte) (n int, flags int) {
	if len(b) < 16 {
		return scanStringBodyGeneric(b)
	}
	return scanStringSSE2(b)
}

//go:noescape
func scanStringSSE2(b []byte) (n int, flags int)
