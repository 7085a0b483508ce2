package reassemble

import "strings"

// stripRuntimePrefix removes what a container runtime writes before each
// line of a container's output when the log shipper did not parse it off:
// the CRI format of containerd and CRI-O ("2026-11-20T10:42:01.123456789Z
// stderr F panic: boom", kubelet's files under /var/log/pods) and the
// timestamp of `docker logs -t` ("2026-11-20T10:42:01.123456789Z panic:
// boom"). Without this a crash logged through such a pipeline starts no
// trace at all. A partial line (tag P, a line longer than the runtime's
// buffer) is taken as it is; stack-trace lines are far shorter.
func stripRuntimePrefix(line string) string {
	// The cheapest tests first: almost no line has either shape.
	if len(line) >= 9 && line[0] == 's' && line[1] == 't' {
		// The file source has taken the time off already.
		return stripStreamTag(line)
	}
	if len(line) < 21 || line[4] != '-' || line[10] != 'T' {
		return line
	}
	n := rfc3339Len(line)
	if n == 0 || n == len(line) || line[n] != ' ' {
		return line
	}
	return stripStreamTag(line[n+1:])
}

// stripStreamTag removes the CRI "stderr F " (or stdout, or P) part.
func stripStreamTag(s string) string {
	if len(s) >= 9 && (strings.HasPrefix(s, "stdout ") || strings.HasPrefix(s, "stderr ")) &&
		(s[7] == 'F' || s[7] == 'P') && s[8] == ' ' {
		return s[9:]
	}
	return s
}

// rfc3339Len returns the length of the RFC 3339 timestamp line starts with
// (2006-01-02T15:04:05, an optional fraction, Z or ±07:00), or 0.
func rfc3339Len(line string) int {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(line) < len(layout)+1 {
		return 0
	}
	for i := range len(layout) {
		if c := line[i]; layout[i] == 'd' && (c < '0' || c > '9') || layout[i] != 'd' && c != layout[i] {
			return 0
		}
	}
	i := len(layout)
	if line[i] == '.' {
		j := i + 1
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j == i+1 {
			return 0
		}
		i = j
	}
	switch {
	case i < len(line) && line[i] == 'Z':
		return i + 1
	case i+6 <= len(line) && (line[i] == '+' || line[i] == '-') && line[i+3] == ':' &&
		isDigits(line[i+1:i+3]) && isDigits(line[i+4:i+6]):
		return i + 6
	}
	return 0
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
