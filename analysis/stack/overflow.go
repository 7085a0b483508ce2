package stack

import "strings"

// overflowMarks are what each runtime prints when a thread runs out of
// stack: Go's fatal error (and the "goroutine stack exceeds" line above
// it), Python's RecursionError, V8's RangeError, the JVM's
// StackOverflowError.
var overflowMarks = []string{
	"stack overflow",
	"goroutine stack exceeds",
	"RecursionError",
	"maximum recursion depth exceeded",
	"Maximum call stack size exceeded",
	"StackOverflowError",
}

// IsStackOverflow reports whether an error is a stack overflow: unbounded
// (or too deep) recursion. Its innermost frame is wherever the last call
// happened to run out of stack (a map lookup, a comparison, a
// StringBuilder), so the frame that explains it is the recursive call,
// the one that repeats.
func IsStackOverflow(errorType, message string) bool {
	for _, m := range overflowMarks {
		if strings.Contains(errorType, m) || strings.Contains(message, m) {
			return true
		}
	}
	return false
}
