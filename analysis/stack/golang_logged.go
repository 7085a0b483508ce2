package stack

import (
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// A recover handler that prints debug.Stack() through the standard logger
// puts the logger's prefix on the dump's first line only. gorilla/handlers'
// RecoveryHandler with PrintRecoveryStack(true), in front of many
// gorilla/mux services, logs the panic value, then the stack:
//
//	2026/11/25 15:28:18 assignment to entry in nil map
//	2026/11/25 15:28:18 goroutine 1 [running]:
//	runtime/debug.Stack()
//		/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
//	github.com/gorilla/handlers.recoveryHandler.log(...)
//	...
//	panic({0x5bfce0?, 0x7b67e0?})
//		/usr/local/go/src/runtime/panic.go:860 +0x13a
//	main.handler(...)
//
// Such a header opens a trace only behind the line before it (see
// NeedsPreface), which holds the panic value; the stack is then read as
// one captured inside a deferred recover (Parse's splitRecovered). A dump
// with no panic(...) frame is a diagnostic the program chose to print, not
// a failure: it keeps no message, so DiagnosticStack drops it.

// loggedGoroutineHeader reports whether l is a goroutine header behind the
// standard logger's prefix ("2026/11/25 15:28:18 goroutine 1 [running]:",
// also with microseconds or a file:line). The first byte is checked before
// anything else: every line of a log is asked.
func loggedGoroutineHeader(l string) bool {
	if len(l) < len("2006/01/02 goroutine 1 [x]:") || l[0] < '0' || l[0] > '9' || l[4] != '/' {
		return false
	}
	s := stripGoLogPrefix(l)
	return len(s) < len(l) && isGoroutineHeader(s)
}

// maxUnlogLines bounds the lines unlogBlock reads at a block's start.
const maxUnlogLines = 4

// mayBeLoggedGoroutineHeader is loggedGoroutineHeader for a line still
// escaped as a JSON string, where the date's slashes may read "\/": a
// digit first, the date's first slash, and the header's words, which JSON
// does not escape. The slash comes before the search: most log lines
// start with a digit (an ISO time, a client address), and searching each
// for the words cost the crash-storm pipeline 5% of its CPU.
func mayBeLoggedGoroutineHeader(raw string) bool {
	if len(raw) < len("2006/01/02 goroutine 1 [x]:") || raw[0] < '0' || raw[0] > '9' ||
		raw[4] != '/' && (raw[4] != '\\' || raw[5] != '/') {
		return false
	}
	return strings.Contains(raw, " goroutine ")
}

// MayTakePreface implements OptionallyPrefaced: a recover handler's
// log.Printf("panic: %v\n%s", r, debug.Stack()) prints the runtime's own
// goroutine header after the logged panic value.
func (Go) MayTakePreface(line string) bool { return isGoroutineHeader(line) }

// TakesPreface implements OptionallyPrefaced: the line before is the
// panic value behind the standard logger's prefix. (Without a prefix it
// is the runtime's own "panic: " line, which opened the block already.)
func (Go) TakesPreface(prev string) bool {
	_, ok := loggedPanicValue(strings.TrimSuffix(prev, "\r"))
	return ok
}

// loggedPanicValue returns the text after "panic: " when l is such a line
// behind the standard logger's prefix.
func loggedPanicValue(l string) (string, bool) {
	if l == "" || l[0] < '0' || l[0] > '9' {
		return "", false
	}
	s := stripGoLogPrefix(l)
	if len(s) == len(l) || !strings.HasPrefix(s, "panic: ") {
		return "", false
	}
	return s, true
}

// unlogBlock returns block with the logger's prefix taken off a logged
// goroutine header and off the line before it (the message), or off a
// logged "panic: " line right before the runtime's goroutine header, and
// whether it held either. block is not modified. Both open the block (the
// message is its first line, a structured field may start with a blank
// one): only its first lines are read, as a dump of thousands of
// goroutines must not cost a scan of all of them.
func unlogBlock(block []string) ([]string, bool) {
	k := -1
	for i, l := range block[:min(len(block), maxUnlogLines)] {
		l = strings.TrimSuffix(l, "\r")
		if loggedGoroutineHeader(l) {
			k = i
			break
		}
		if _, ok := loggedPanicValue(l); ok && i+1 < len(block) && isGoroutineHeader(strings.TrimSuffix(block[i+1], "\r")) {
			out := append([]string(nil), block...)
			out[i] = stripGoLogPrefix(l)
			return out, true
		}
	}
	if k < 0 {
		return block, false
	}
	out := append([]string(nil), block...)
	out[k] = stripGoLogPrefix(strings.TrimSuffix(out[k], "\r"))
	if k > 0 {
		out[k-1] = stripGoLogPrefix(strings.TrimSuffix(out[k-1], "\r"))
	}
	return out, true
}

// finishLogged fixes up a trace parsed from a block unlogBlock changed: the
// message line is the value of the panic the stack was captured in, so its
// class is named as a printed panic's; without a panic(...) frame the
// dump was no panic, and the line before it no message of its.
func finishLogged(t incident.Trace, recovered bool) incident.Trace {
	if !recovered {
		t.Message, t.ErrorType = "", ""
		return t
	}
	if t.Message != "" {
		t.Message = strings.TrimPrefix(t.Message, "panic: ")
		t.ErrorType = panicErrorType(t.Message)
	}
	return t
}

// hasPanicFrame reports whether frames pass through panic(...), as a
// stack captured inside a deferred recover does.
func hasPanicFrame(frames []incident.Frame) bool {
	for _, f := range frames {
		if f.Function == "panic" || f.Function == "runtime.gopanic" {
			return true
		}
	}
	return false
}
