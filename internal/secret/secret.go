// Package secret removes credentials from text that Faultline shows or
// stores: log lines are written by whoever sends requests to a service, and
// a token that leaked into an error message must not travel further into
// hovers, pull request bodies, the incident store or the CLI's output.
//
// It is deliberately narrower than the LLM prompt redaction
// (codeactions/llm.Redact): addresses, host names and e-mails are what a
// developer needs to debug, so only credentials are replaced here.
package secret

import "regexp"

// Mask replaces a credential.
const Mask = "[REDACTED]"

var rules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Provider tokens with a recognisable shape.
	{regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`), Mask},
	{regexp.MustCompile(`\b(sk-(ant-)?[A-Za-z0-9_-]{16,})`), Mask},
	{regexp.MustCompile(`\b((AKIA|ASIA)[0-9A-Z]{16})\b`), Mask},
	{regexp.MustCompile(`\b(xox[abposr]-[A-Za-z0-9-]{10,})`), Mask},
	{regexp.MustCompile(`\b(glpat-[A-Za-z0-9_-]{20,})`), Mask},
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`), Mask},
	// Credentials named as such: keep the name, hide the value (quoted
	// values whole, spaces included).
	{regexp.MustCompile(`(?i)\b((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|passw(?:or)?d|pwd)["']?\s*[=:]\s*)"[^"]*"`), `${1}"` + Mask + `"`},
	{regexp.MustCompile(`(?i)\b((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|passw(?:or)?d|pwd)["']?\s*[=:]\s*)'[^']*'`), `${1}'` + Mask + `'`},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{12,}`), "$1 " + Mask},
	{regexp.MustCompile(`(?i)\b((?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|passw(?:or)?d|pwd)["']?\s*[=:]\s*["']?)[^\s"'&,;]{4,}`), "${1}" + Mask},
	// user:password@ in URLs.
	{regexp.MustCompile(`(://[^/\s:@]+:)[^/\s@]+@`), "${1}" + Mask + "@"},
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`), Mask},
}

// Redact returns s with every credential it recognises replaced by Mask.
func Redact(s string) string {
	for _, r := range rules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}
