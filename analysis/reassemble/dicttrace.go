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
