package stack

import (
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/ansi"
)

// Gin's Recovery middleware, in front of most Go web services built on Gin,
// catches a handler's panic and logs it in a stack format of its own:
//
//	2026/11/24 23:30:09 [Recovery] 2026/11/24 - 23:30:09 panic recovered:
//	runtime error: index out of range [7] with length 3
//	/usr/local/go/src/runtime/panic.go:236 (0x44bf56)
//		panicBounds64: panic(e)
//	/srv/app/cart.go:12 (0x65f6b3)
//		(*Cart).Item: return c.items[i]
//
// Frames are a "path:line (0xpc)" line, then a tab, the function without
// its package and the source line. In debug mode the request's headers come
// between the first line and the panic value; in a terminal the block is
// wrapped in ANSI colours.

// ginStart reports the first line of a Gin recovery block.
// ginMarker opens the line Gin's Recovery middleware logs for a panic.
const ginMarker = "[Recovery] "

func ginStart(line string) bool {
	return strings.Contains(line, ginMarker) &&
		strings.HasSuffix(strings.TrimRight(ansi.Strip(line), " \r"), "panic recovered:")
}

// ginBlockStart returns the index of the recovery line when it is the
// block's first non-blank line (a structured field may start with a
// newline), or -1.
func ginBlockStart(block []string) int {
	for i, l := range block {
		switch {
		case strings.TrimSpace(ansi.Strip(l)) == "":
			continue
		case ginStart(l):
			return i
		}
		return -1
	}
	return -1
}

// ginFileLine reads a frame's "path:line (0xpc)" line.
func ginFileLine(l string) (path string, line int, ok bool) {
	l = strings.TrimRight(l, "\r")
	open := strings.LastIndex(l, " (0x")
	if open <= 0 || !strings.HasSuffix(l, ")") {
		return "", 0, false
	}
	if _, err := strconv.ParseUint(l[open+4:len(l)-1], 16, 64); err != nil {
		return "", 0, false
	}
	loc := l[:open]
	colon := strings.LastIndexByte(loc, ':')
	if colon <= 0 || strings.ContainsAny(loc[:colon], " \t") {
		return "", 0, false
	}
	n, err := strconv.Atoi(loc[colon+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return loc[:colon], n, true
}

// ginContinue accepts, after the first line, the panic value (and in debug
// mode the request before it), then frame and source lines.
func ginContinue(block []string, line string) bool {
	if _, _, ok := ginFileLine(line); ok {
		return true
	}
	inFrames := false
	for i := len(block) - 1; i >= 0 && i >= len(block)-2; i-- {
		if _, _, ok := ginFileLine(block[i]); ok {
			inFrames = true
		}
	}
	if inFrames {
		return strings.HasPrefix(line, "\t")
	}
	return len(block) < maxMessageLines && strings.TrimSpace(ansi.Strip(line)) != ""
}

// parseGin reads a Gin recovery block. Gin starts its stack below its own
// recover, so the first frames are the runtime's panic machinery, then the
// crash site.
func parseGin(block []string) incident.Trace {
	t := incident.Trace{Language: "go"}
	var message string
	i := 1
	for ; i < len(block); i++ {
		if _, _, ok := ginFileLine(block[i]); ok {
			break
		}
		if l := strings.TrimSpace(ansi.Strip(block[i])); l != "" {
			message = l // the value follows the request dump, when there is one
		}
	}
	for ; i < len(block); i++ {
		path, line, ok := ginFileLine(block[i])
		if !ok {
			continue
		}
		fn := ""
		if i+1 < len(block) && strings.HasPrefix(block[i+1], "\t") {
			fn, _, _ = strings.Cut(strings.TrimPrefix(block[i+1], "\t"), ": ")
			i++
		}
		if fn == "" {
			t.Problems = append(t.Problems, "frame "+quoteShort(path)+" has no function line (torn trace?)")
			continue
		}
		t.Frames = append(t.Frames, incident.Frame{Function: fn, Path: path, Line: line, Library: isLibrary("", path)})
	}
	t.Message, t.ErrorType = message, panicErrorType(message)
	if message == "" {
		t.Problems = append(t.Problems, "no panic value after the recovery line")
	}
	if len(t.Frames) == 0 {
		t.Problems = append(t.Problems, "no Go stack frames found")
	}
	return t
}
