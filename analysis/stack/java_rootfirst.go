package stack

import "strings"

// The JVM traces of logback's root-cause-first converters (%rEx,
// logstash-logback-encoder's rootCauseFirst) and of Dropwizard's default
// log format, which builds on them:
//
//	! java.lang.NumberFormatException: For input string: "ACC-42"
//	! at java.base/java.lang.Long.parseLong(Long.java:711)
//	! at com.acme.accounts.core.AccountIds.parse(AccountIds.java:7)
//	! ... 2 common frames omitted
//	! Causing: java.lang.IllegalArgumentException: bad account id ACC-42
//	! at com.acme.accounts.core.AccountStore.owner(AccountStore.java:12)
//
// Java reads them with these helpers; see its doc for what it makes of them.

// javaBang is what Dropwizard's log format (PrefixedRootCauseFirst-
// ThrowableProxyConverter) puts before every line of a throwable, in place
// of a frame's tab, so that a reader can tell the trace from the messages.
const javaBang = "! "

// Wrapper headers of the root-cause-first converters: logback's, and
// Dropwizard's name for the same thing once its "! " is taken off.
const (
	javaWrappedBy = "Wrapped by: "
	javaCausing   = "Causing: "
)

// javaUnbang returns line without Dropwizard's "! " prefix, and whether it
// had one.
func javaUnbang(line string) (string, bool) {
	if strings.HasPrefix(line, javaBang) {
		return line[len(javaBang):], true
	}
	return line, false
}

// javaNewWrapper opens the segment for a wrapper printed root cause first
// ("Wrapped by: X", "Causing: X"). It becomes the enclosing exception of
// the last one printed at its level, whose "... N common frames omitted"
// refers to it, as "... N more" refers to the enclosing exception printed
// before a "Caused by:".
func javaNewWrapper(segs []javaSegment, header string, level int) javaSegment {
	w := javaNewSegment(segs, header, level, false)
	w.parent, w.wrapper = -1, true
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].level == level {
			segs[i].parent = len(segs)
			break
		}
	}
	return w
}
