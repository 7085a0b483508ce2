package lokitest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// matcher is one label matcher of a LogQL stream selector.
type matcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m matcher) matches(labels map[string]string) bool {
	v := labels[m.name]
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default: // "!~"
		return !m.re.MatchString(v)
	}
}

// lineFilter is one line filter expression: |= != |~ !~.
type lineFilter struct {
	op, value string
	re        *regexp.Regexp
}

func (f lineFilter) matches(line string) bool {
	switch f.op {
	case "|=":
		return strings.Contains(line, f.value)
	case "!=":
		return !strings.Contains(line, f.value)
	case "|~":
		return f.re.MatchString(line)
	default:
		return !f.re.MatchString(line)
	}
}

// logQuery is the subset of LogQL the fake understands: a stream selector
// followed by line filters.
type logQuery struct {
	matchers []matcher
	filters  []lineFilter
}

func (q logQuery) matches(labels map[string]string, line string) bool {
	for _, m := range q.matchers {
		if !m.matches(labels) {
			return false
		}
	}
	for _, f := range q.filters {
		if !f.matches(line) {
			return false
		}
	}
	return true
}

// parseQuery parses `{a="b", c=~"d.*"} |= "x" |~ "y"`.
func parseQuery(s string) (logQuery, error) {
	var q logQuery
	rest := strings.TrimSpace(s)
	if !strings.HasPrefix(rest, "{") {
		return q, fmt.Errorf("parse error: query must start with a stream selector: %q", s)
	}
	rest = strings.TrimSpace(rest[1:])
	for !strings.HasPrefix(rest, "}") {
		var m matcher
		var err error
		i := strings.IndexAny(rest, "=!")
		if i <= 0 {
			return q, fmt.Errorf("parse error: bad matcher in %q", s)
		}
		m.name = strings.TrimSpace(rest[:i])
		rest = rest[i:]
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(rest, op) {
				m.op, rest = op, strings.TrimSpace(rest[len(op):])
				break
			}
		}
		if m.value, rest, err = quoted(rest); err != nil {
			return q, err
		}
		if m.op == "=~" || m.op == "!~" {
			if m.re, err = regexp.Compile("^(?:" + m.value + ")$"); err != nil {
				return q, fmt.Errorf("parse error: %w", err)
			}
		}
		q.matchers = append(q.matchers, m)
		rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return q, fmt.Errorf("parse error: unclosed selector %q", s)
		}
	}
	rest = strings.TrimSpace(rest[1:])
	for rest != "" {
		var f lineFilter
		var err error
		if len(rest) < 2 {
			return q, fmt.Errorf("parse error: bad line filter %q", rest)
		}
		f.op, rest = rest[:2], strings.TrimSpace(rest[2:])
		if f.op != "|=" && f.op != "!=" && f.op != "|~" && f.op != "!~" {
			return q, fmt.Errorf("parse error: unsupported pipeline stage %q", f.op)
		}
		if f.value, rest, err = quoted(rest); err != nil {
			return q, err
		}
		if f.op == "|~" || f.op == "!~" {
			if f.re, err = regexp.Compile(f.value); err != nil {
				return q, fmt.Errorf("parse error: %w", err)
			}
		}
		q.filters = append(q.filters, f)
		rest = strings.TrimSpace(rest)
	}
	return q, nil
}

// quoted reads a "double-quoted" or `backquoted` string at the start of s.
func quoted(s string) (string, string, error) {
	if s == "" || (s[0] != '"' && s[0] != '`') {
		return "", "", fmt.Errorf("parse error: expected a quoted string at %q", s)
	}
	for i := 1; i < len(s); i++ {
		if s[0] == '"' && s[i] == '\\' {
			i++
			continue
		}
		if s[i] == s[0] {
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", "", fmt.Errorf("parse error: %w", err)
			}
			return v, s[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("parse error: unterminated string %q", s)
}

// parseLabels parses a push request's label string, {a="b", c="d"}.
func parseLabels(s string) (map[string]string, error) {
	q, err := parseQuery(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(q.matchers))
	for _, m := range q.matchers {
		if m.op != "=" {
			return nil, fmt.Errorf("labels %q: only = allowed", s)
		}
		out[m.name] = m.value
	}
	return out, nil
}
