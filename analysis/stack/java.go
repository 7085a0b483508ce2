package stack

import (
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// Java reads JVM stack traces as Throwable.printStackTrace prints them, which
// covers Java, Kotlin and Scala:
//
//	Exception in thread "main" java.lang.RuntimeException: load failed
//		at com.acme.Cart.load(Cart.java:42)
//		at java.base/java.lang.Thread.run(Thread.java:833)
//	Caused by: java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 2
//		at com.acme.Cart.item(Cart.java:12)
//		... 2 more
//
// The deepest "Caused by" with frames is the primary trace, because that is
// where the failure started; the wrapping exceptions and any "Suppressed:"
// ones go to Chain. Message is the exception's own line (its toString()),
// without the "Exception in thread" or "Caused by:" prefix, so that the same
// failure on different threads groups together.
//
// Logback's root-cause-first converters print the chain the other way round:
// the root cause first, each wrapper after it as "Wrapped by: ..." (%rEx,
// logstash-logback-encoder's rootCauseFirst), and Dropwizard's default
// format, built on them, starts every line with "! " and names the wrappers
// "! Causing: ...". Their first exception is then the primary one, and its
// "... N common frames omitted" stands for the bottom frames of the wrapper
// printed after it.
type Java struct{}

// Language implements Parser.
func (Java) Language() string { return "java" }

const javaThreadPrefix = `Exception in thread "`

// Start accepts `Exception in thread "..." pkg.SomeException...` and a bare
// header whose first word is a dotted class name ending in Exception, Error
// or Throwable, also behind Dropwizard's "! ". It allocates nothing.
func (Java) Start(line string) bool {
	line, _ = javaUnbang(line)
	if line != "" && line[0] == 'E' && strings.HasPrefix(line, javaThreadPrefix) {
		return true
	}
	return javaHeaderClassEnd(line) > 0
}

// MayStartEscaped implements EscapedStarter. A class name holds no
// character JSON escapes and ends at the ':' or the end of the line, which
// raw has where the line has them; the thread prefix's quote is escaped.
// "! " holds nothing JSON escapes either.
func (Java) MayStartEscaped(raw string) bool {
	raw, _ = javaUnbang(raw)
	return strings.HasPrefix(raw, `Exception in thread `) || javaHeaderClassEnd(raw) > 0
}

// javaHeaderClassEnd returns the length of the class name that opens a bare
// exception header ("java.lang.IllegalStateException: msg"), or 0.
func javaHeaderClassEnd(line string) int {
	if line == "" || !isLetterByte(line[0]) {
		return 0
	}
	dotted := false
	i := 0
	for i < len(line) && isJavaIdentByte(line[i]) {
		if line[i] == '.' {
			dotted = true
		}
		i++
	}
	if !dotted || line[i-1] == '.' {
		return 0
	}
	if i < len(line) && line[i] != ':' {
		return 0
	}
	name := line[:i]
	if !strings.HasSuffix(name, "Exception") && !strings.HasSuffix(name, "Error") &&
		!strings.HasSuffix(name, "Throwable") {
		return 0
	}
	return i
}

// Continue accepts frames, "... N more", "Caused by:", "Suppressed:" and
// the root-cause-first wrapper lines, at any indentation; in a block that
// opened behind Dropwizard's "! ", only lines behind it.
func (Java) Continue(block []string, line string) bool {
	if len(block) > 0 {
		if _, bang := javaUnbang(block[0]); bang {
			var ok bool
			if line, ok = javaUnbang(line); !ok {
				return false
			}
		}
	}
	t := skipIndent(line)
	if t == "" {
		return false
	}
	// Indentation is not required: some shippers strip it.
	switch t[0] {
	case 'a':
		return isJavaFrame(t)
	case '.':
		return isJavaMore(t)
	case 'C':
		return strings.HasPrefix(t, "Caused by: ") || strings.HasPrefix(t, javaCausing)
	case 'S':
		return strings.HasPrefix(t, "Suppressed: ")
	case 'W':
		return strings.HasPrefix(t, javaWrappedBy)
	}
	return false
}

// MayContinueEscaped implements EscapedContinuer: Continue reads the first
// bytes after the indentation (and after "! ", which JSON does not escape),
// and an escaped tab may be indentation.
func (Java) MayContinueEscaped(block []string, raw string) bool {
	if len(block) > 0 {
		if _, bang := javaUnbang(block[0]); bang {
			var ok bool
			if raw, ok = javaUnbang(raw); !ok {
				return false
			}
		}
	}
	t := strings.TrimLeft(raw, " ")
	if t == "" {
		return false
	}
	switch t[0] {
	case '\\':
		return true
	case 'a':
		return mayHavePrefix(t, "at ")
	case '.':
		return mayHavePrefix(t, "... ")
	case 'C':
		return mayHavePrefix(t, "Caused by: ") || mayHavePrefix(t, javaCausing)
	case 'S':
		return mayHavePrefix(t, "Suppressed: ")
	case 'W':
		return mayHavePrefix(t, javaWrappedBy)
	}
	return false
}

// Detect reports whether a structured log field holds a JVM trace: a header
// line or at least one frame in Java's "at pkg.Class.method(File.java:1)"
// form (no space before the parenthesis, unlike V8).
func (j Java) Detect(block []string) bool {
	for _, l := range block {
		l, _ = javaUnbang(l)
		t := skipIndent(l)
		if j.Start(t) || strings.HasPrefix(t, "Caused by: ") {
			return true
		}
		if isJavaFrame(t) {
			return true
		}
	}
	return false
}

// isJavaFrame reports whether t (left-trimmed) is "at x.y(...)".
func isJavaFrame(t string) bool {
	if !strings.HasPrefix(t, "at ") {
		return false
	}
	open := strings.IndexByte(t, '(')
	if open < 4 || t[open-1] == ' ' {
		return false
	}
	return strings.IndexByte(t[open:], ')') > 0
}

// isJavaMore reports whether t is "... 5 more" or logback's
// "... 5 common frames omitted".
func isJavaMore(t string) bool {
	return strings.HasPrefix(t, "... ") &&
		(strings.HasSuffix(t, " more") || strings.HasSuffix(t, " omitted"))
}

// javaSegment is one exception of a printed trace: the root, a cause or a
// suppressed exception.
type javaSegment struct {
	trace  incident.Trace
	level  int // indentation of the header: suppressed blocks nest deeper
	parent int // index of the exception whose frames "... N more" refers to; -1 for the root
	more   int // the N of "... N more"
	cause  bool
	// wrapper marks a "Wrapped by:" (or "Causing:") exception of a trace
	// printed root cause first: it wraps the one printed before it.
	wrapper   bool
	completed bool // javaCompleteFrames has run
}

// Parse reads a JVM trace block. It never fails: lines it cannot read are
// listed in Problems.
func (Java) Parse(block []string) incident.Trace {
	var segs []javaSegment
	var problems []string
	for i, raw := range block {
		line, _ := javaUnbang(strings.TrimRight(raw, "\r\n"))
		t := skipIndent(line)
		level := javaIndent(line)
		switch {
		case t == "":
		case isJavaFrame(t):
			if len(segs) == 0 {
				segs = append(segs, javaSegment{parent: -1})
			}
			s := &segs[len(segs)-1]
			if s.trace.Frames == nil {
				s.trace.Frames = make([]incident.Frame, 0, 2*frameCap(len(block)-i))
			}
			s.trace.Frames = append(s.trace.Frames, parseJavaFrame(t))
		case isJavaMore(t):
			if len(segs) > 0 {
				segs[len(segs)-1].more = javaMoreCount(t)
			}
		case strings.HasPrefix(t, "Caused by: "):
			segs = append(segs, javaNewSegment(segs, t[len("Caused by: "):], level, true))
		case strings.HasPrefix(t, "Suppressed: "):
			segs = append(segs, javaNewSegment(segs, t[len("Suppressed: "):], level, false))
		case strings.HasPrefix(t, javaWrappedBy), strings.HasPrefix(t, javaCausing):
			_, h, _ := strings.Cut(t, ": ")
			segs = append(segs, javaNewWrapper(segs, h, level))
		case len(segs) == 0:
			segs = append(segs, javaNewSegment(nil, javaStripThread(t), level, false))
		default:
			problems = append(problems, "unrecognised line: "+javaClip(line))
		}
	}
	if len(segs) == 0 {
		return incident.Trace{Language: "java", Problems: append(problems, "no exception header or frames")}
	}
	for i := range segs {
		javaCompleteFrames(segs, i)
	}
	return javaAssemble(segs, problems)
}

// javaNewSegment opens the segment for an exception header. A cause belongs
// to the last exception at its own level; a suppressed exception to the
// last one a level up.
func javaNewSegment(segs []javaSegment, header string, level int, cause bool) javaSegment {
	s := javaSegment{level: level, parent: -1, cause: cause}
	want := level
	if !cause {
		want = level - 1
	}
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].level == want {
			s.parent = i
			break
		}
	}
	s.trace.Language = "java"
	header = javaUnwrapInitReplay(header)
	s.trace.Message = header
	s.trace.ErrorType = javaErrorType(header)
	if s.trace.ErrorType == "" {
		s.trace.Problems = append(s.trace.Problems, "no exception class in header: "+javaClip(header))
	}
	return s
}

// javaCompleteFrames appends the N frames "... N more" stands for: the
// bottom N frames of the enclosing exception, completed first (it is
// printed before, or after when the trace is printed root cause first).
func javaCompleteFrames(segs []javaSegment, i int) {
	s := &segs[i]
	if s.completed {
		return
	}
	s.completed = true
	if s.more == 0 {
		return
	}
	if s.parent > i {
		javaCompleteFrames(segs, s.parent)
	}
	if s.parent < 0 {
		s.trace.Problems = append(s.trace.Problems, "\"... "+strconv.Itoa(s.more)+" more\" without an enclosing trace")
		return
	}
	pf := segs[s.parent].trace.Frames
	n := s.more
	if n > len(pf) {
		s.trace.Problems = append(s.trace.Problems, "\"... "+strconv.Itoa(n)+" more\" exceeds the enclosing trace's "+strconv.Itoa(len(pf))+" frames")
		n = len(pf)
	}
	s.trace.Frames = append(s.trace.Frames, pf[len(pf)-n:]...)
}

// javaAssemble picks the primary exception, the deepest cause of the root
// chain that has frames (printed root cause first: the first exception),
// and puts every other exception in Chain in printed order.
func javaAssemble(segs []javaSegment, problems []string) incident.Trace {
	primary := 0
	for i := 1; i < len(segs); i++ {
		if segs[i].level != segs[0].level || len(segs[i].trace.Frames) == 0 {
			continue
		}
		// Printed root cause first, the root is segs[0]; a wrapper
		// stands in only when the root has no frames to show.
		if segs[i].cause || segs[i].wrapper && len(segs[primary].trace.Frames) == 0 {
			primary = i
		}
	}
	for i := range segs {
		segs[i].trace.Language = "java"
	}
	tr := segs[primary].trace
	tr.Problems = append(tr.Problems, problems...)
	for i := range segs {
		if i != primary {
			tr.Chain = append(tr.Chain, segs[i].trace)
		}
	}
	if len(tr.Frames) == 0 {
		tr.Problems = append(tr.Problems, "no frames")
	}
	return tr
}

// javaInitReplay opens the cause the JVM (17+) gives the
// NoClassDefFoundError thrown on every use of a class whose static
// initializer failed: "java.lang.ExceptionInInitializerError: Exception
// java.lang.NullPointerException: msg [in thread "main"]", with the first
// failure's frames.
const javaInitReplay = "java.lang.ExceptionInInitializerError: Exception "

// javaUnwrapInitReplay returns the failure a replayed initializer error
// records ("java.lang.NullPointerException: msg"), so that every later use
// of the broken class groups with the first failure; other headers are
// returned unchanged.
func javaUnwrapInitReplay(h string) string {
	if !strings.HasPrefix(h, javaInitReplay) || !strings.HasSuffix(h, `"]`) {
		return h
	}
	inner := h[len(javaInitReplay):]
	i := strings.LastIndex(inner, ` [in thread "`)
	if i <= 0 || javaErrorType(inner[:i]) == "" {
		return h
	}
	return inner[:i]
}

// javaStripThread removes `Exception in thread "name" ` from a header.
func javaStripThread(h string) string {
	if !strings.HasPrefix(h, javaThreadPrefix) {
		return h
	}
	rest := h[len(javaThreadPrefix):]
	if i := strings.Index(rest, `" `); i >= 0 {
		return rest[i+2:]
	}
	return h
}

// javaErrorType returns the exception class of a header line.
func javaErrorType(h string) string {
	end := 0
	for end < len(h) && isJavaIdentByte(h[end]) {
		end++
	}
	if end == 0 || (end < len(h) && h[end] != ':') {
		return ""
	}
	return h[:end]
}

// parseJavaFrame reads "at [module/]pkg.Class.method(File.java:42)".
func parseJavaFrame(t string) incident.Frame {
	t = t[len("at "):]
	open := strings.IndexByte(t, '(')
	closing := strings.LastIndexByte(t, ')')
	fn, src := t[:open], ""
	if closing > open {
		src = t[open+1 : closing]
	}
	fn = javaStripModule(fn)
	f := incident.Frame{Function: fn, Package: javaPackage(fn)}
	if c := strings.LastIndexByte(src, ':'); c > 0 {
		if n, err := strconv.Atoi(src[c+1:]); err == nil && n > 0 {
			f.Path, f.Line = src[:c], n
		}
	}
	if f.Path == "" && src != "" && src != "Unknown Source" && src != "Native Method" &&
		!strings.HasPrefix(src, "Unknown Source") {
		f.Path = src // a file without a line number
	}
	f.Library = f.Path == "" || javaIsLibrary(f.Package) || javaIsLibrary(fn)
	return f
}

// javaStripModule drops the module or class-loader prefix Java 9+ prints
// ("java.base/", "app//", "java.base@17.0.1/"). A lambda's hidden class
// ("Foo$$Lambda$5/0x...run") also contains a slash, but its prefix has a '$'.
func javaStripModule(fn string) string {
	slash := strings.IndexByte(fn, '/')
	if slash < 0 || strings.IndexByte(fn[:slash], '$') >= 0 {
		return fn
	}
	rest := fn[slash+1:]
	if strings.HasPrefix(rest, "/") {
		rest = rest[1:]
	}
	return rest
}

// javaPackage returns the package of a qualified method name: everything
// before the class, where the class is the segment before the method.
func javaPackage(fn string) string {
	dot := strings.LastIndexByte(fn, '.')
	if dot < 0 {
		return ""
	}
	class := fn[:dot]
	if d := strings.LastIndexByte(class, '.'); d >= 0 {
		return class[:d]
	}
	return ""
}

// javaLibraryPrefixes are packages that are never application code.
var javaLibraryPrefixes = []string{
	"java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "kotlinx.",
	"scala.", "org.junit.", "junit.", "org.jetbrains.kotlin.",
}

func javaIsLibrary(pkg string) bool {
	for _, p := range javaLibraryPrefixes {
		if strings.HasPrefix(pkg, p) || pkg == p[:len(p)-1] {
			return true
		}
	}
	return false
}

func javaMoreCount(t string) int {
	rest := t[len("... "):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(rest[:end])
	return n
}

// javaIndent counts the indentation level of a line: one per tab, or one
// per run of up to four spaces for logs that expanded the tabs.
func javaIndent(line string) int {
	tabs, spaces := 0, 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\t':
			tabs++
		case ' ':
			spaces++
		default:
			return tabs + (spaces+3)/4
		}
	}
	return tabs + (spaces+3)/4
}

func javaClip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func isJavaIdentByte(c byte) bool {
	return isLetterByte(c) || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.'
}

func isLetterByte(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// skipIndent drops leading spaces and tabs without allocating.
func skipIndent(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}
