package reassemble

import (
	"strconv"
	"strings"
)

// dictTraceback returns the lines Python would have printed for a
// traceback that a structured logger wrote as data instead of text:
// structlog's dict_tracebacks processor (the JSON setup structlog's
// documentation recommends for production) replaces exc_info with
//
//	"exception": [{"exc_type": "ValueError", "exc_value": "...", "is_cause": false,
//	               "frames": [{"filename": "/srv/app/x.py", "lineno": 12, "name": "f", ...}]},
//	              {"exc_type": "KeyError", ..., "is_cause": true, "frames": [...]}]
//
// the exception raised first, then the one it was raised from or while
// handling (is_cause tells which), and so on; frames outermost first. The
// lines are those of the printed chain, oldest exception first, with the
// separators Python prints, so that the Python parser reads the logged
// data exactly as it reads the printed traceback: the same primary
// exception, the same frames. An exception group's member exceptions are
// not rendered, only the group's own frames.
//
// It returns nil when obj holds no such list.
func dictTraceback(obj map[string]any) []string {
	stacks, ok := lookup(obj, "exception").([]any)
	if !ok || len(stacks) == 0 {
		return nil
	}
	var lines []string
	for i := len(stacks) - 1; i >= 0; i-- {
		st, ok := stacks[i].(map[string]any)
		if !ok {
			return nil
		}
		excType, _ := st["exc_type"].(string)
		frames, ok := st["frames"].([]any)
		if excType == "" || !ok {
			return nil
		}
		if i < len(stacks)-1 {
			// stacks[i+1] was this exception's __cause__ or __context__.
			older, _ := stacks[i+1].(map[string]any)
			if cause, _ := older["is_cause"].(bool); cause {
				lines = append(lines, "", "The above exception was the direct cause of the following exception:", "")
			} else {
				lines = append(lines, "", "During handling of the above exception, another exception occurred:", "")
			}
		}
		lines = append(lines, "Traceback (most recent call last):")
		for _, f := range frames {
			fr, ok := f.(map[string]any)
			if !ok {
				return nil
			}
			file, _ := fr["filename"].(string)
			line, _ := fr["lineno"].(float64)
			name, _ := fr["name"].(string)
			if file == "" || line < 1 {
				return nil
			}
			lines = append(lines, `  File "`+file+`", line `+strconv.Itoa(int(line))+", in "+name)
			if src, _ := fr["line"].(string); strings.TrimSpace(src) != "" {
				lines = append(lines, "    "+strings.TrimSpace(src))
			}
		}
		head := excType
		if v, _ := st["exc_value"].(string); v != "" {
			head += ": " + firstLine(v)
		}
		lines = append(lines, head)
	}
	return lines
}

// thrownTrace returns the lines Throwable.printStackTrace would have
// printed for a throwable log4j2's JsonLayout wrote as data:
//
//	"thrown": {"name": "java.lang.IllegalStateException", "message": "...",
//	           "extendedStackTrace": [{"class": "com.acme.X", "method": "m", "file": "X.java", "line": 12, ...}],
//	           "cause": {...}, "suppressed": [{...}]}
//
// so that the Java parser reads it as it reads a printed trace. Each
// exception's frames are listed in full (JsonLayout does not elide the
// frames a cause shares with its wrapper). With stacktraceAsString the
// layout writes the printed text instead, which stackFields reads.
//
// It returns nil when obj holds no such object.
func thrownTrace(obj map[string]any) []string {
	t, ok := lookup(obj, "thrown").(map[string]any)
	if !ok {
		return nil
	}
	var lines []string
	if !appendThrown(&lines, t, "", "") {
		return nil
	}
	return lines
}

// appendThrown appends one throwable of JsonLayout's "thrown" (its header
// behind prefix, its frames behind indent), then its suppressed
// exceptions and its cause, as printStackTrace orders them.
func appendThrown(lines *[]string, t map[string]any, prefix, indent string) bool {
	name, _ := t["name"].(string)
	frames, ok := t["extendedStackTrace"].([]any)
	if name == "" || !ok {
		return false
	}
	head := name
	msg, _ := t["localizedMessage"].(string)
	if msg == "" {
		msg, _ = t["message"].(string)
	}
	if msg != "" {
		head += ": " + firstLine(msg)
	}
	*lines = append(*lines, indent+prefix+head)
	for _, f := range frames {
		fr, ok := f.(map[string]any)
		if !ok {
			return false
		}
		class, _ := fr["class"].(string)
		method, _ := fr["method"].(string)
		if class == "" || method == "" {
			return false
		}
		*lines = append(*lines, indent+"\tat "+class+"."+method+"("+javaSource(fr)+")")
	}
	if sup, ok := t["suppressed"].([]any); ok {
		for _, s := range sup {
			if st, ok := s.(map[string]any); ok && !appendThrown(lines, st, "Suppressed: ", indent+"\t") {
				return false
			}
		}
	}
	if c, ok := t["cause"].(map[string]any); ok {
		return appendThrown(lines, c, "Caused by: ", indent)
	}
	return true
}

// javaSource is the part of a printed frame inside the parentheses, as
// StackTraceElement.toString writes it from the file and line.
func javaSource(fr map[string]any) string {
	file, _ := fr["file"].(string)
	line, _ := fr["line"].(float64)
	switch {
	case line == -2:
		return "Native Method"
	case file == "":
		return "Unknown Source"
	case line > 0:
		return file + ":" + strconv.Itoa(int(line))
	}
	return file
}
