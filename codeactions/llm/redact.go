package llm

import (
	"net/netip"
	"regexp"
	"strings"
)

// Placeholders that replace redacted text. They are stable so that a diff
// whose context lines were copied from a redacted prompt can still be located
// in the original source (see locate in apply.go).
const (
	redToken  = "[REDACTED-TOKEN]"
	redSecret = "[REDACTED-SECRET]"
	redEmail  = "[REDACTED-EMAIL]"
	redIP     = "[REDACTED-IP]"
	redCard   = "[REDACTED-CARD]"
	redPhone  = "[REDACTED-PHONE]"
)

// redactionRule replaces what re matches. When fn is set it decides the
// replacement from the match (returning the match unchanged keeps it).
type redactionRule struct {
	name string
	re   *regexp.Regexp
	repl string
	fn   func(m string) string
}

// No rule may match across a newline: Redact must work line by line so that
// the answer's context lines can be matched against the redacted source.
var redactionRules = []redactionRule{
	// Credentials with a recognisable shape come first, before the generic
	// rules (email, phone) could cut them into pieces.
	{name: "authorization header", re: regexp.MustCompile(`(?i)\b(?:bearer|basic)[ \t]+[A-Za-z0-9._~+/=-]{8,}`), fn: redactAuthHeader},
	{name: "jwt", re: regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), repl: redToken},
	{name: "openai/anthropic key", re: regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{16,}`), repl: redToken},
	{name: "stripe key", re: regexp.MustCompile(`\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}`), repl: redToken},
	{name: "github token", re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,})`), repl: redToken},
	{name: "gitlab token", re: regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{16,}`), repl: redToken},
	{name: "slack token", re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`), repl: redToken},
	{name: "aws access key id", re: regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`), repl: redToken},
	{name: "google api key", re: regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`), repl: redToken},
	{name: "private key header", re: regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----.*`), repl: redSecret},
	{name: "url credentials", re: regexp.MustCompile(`\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+):[^\s/@]+@`), repl: "${1}:" + redSecret + "@"},
	{name: "key=value secret", re: secretAssignRe, fn: redactAssignment},
	{name: "email", re: regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b`), repl: redEmail},
	{name: "card number (luhn)", re: regexp.MustCompile(`\b(?:\d{13,19}|\d{4}(?: \d{4}){2} \d{1,7}|\d{4}(?:-\d{4}){2}-\d{1,7}|\d{4} \d{6} \d{4,5}|\d{4}-\d{6}-\d{4,5})\b`), fn: redactCard},
	{name: "ipv4", re: regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`), fn: redactIP},
	{name: "ipv6", re: regexp.MustCompile(`(?:^|[^0-9A-Za-z_:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[0-9A-Za-z]+)?)`), fn: redactIPv6},
	{name: "phone (international)", re: regexp.MustCompile(`\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}\b`), fn: redactPhone},
	{name: "phone (north american)", re: regexp.MustCompile(`(?:\(\d{3}\)\s?|\b\d{3}[ .-])\d{3}[ .-]\d{4}\b`), repl: redPhone},
}

// secretAssignRe matches name=value / name: value pairs whose name says the
// value is secret (query strings, log fields, config dumps, code literals).
var secretAssignRe = regexp.MustCompile(`(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|secret[_-]?key|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth|authorization|session[_-]?id|cookie))("?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|` + "`[^`\\n]*`" + `|[^\s"'&,;)\]}]+)`)

// Redact removes secrets and personal data from s: bearer tokens and API keys
// (OpenAI/Anthropic sk-, GitHub, GitLab, Slack, AWS, Google, Stripe, JWTs),
// password=/token= style values, credentials in URLs, e-mail addresses,
// IPv4/IPv6 addresses (loopback and unspecified kept), card numbers that pass
// the Luhn check, and phone numbers. Everything that goes into a prompt passes
// through it. It works line by line: no rule matches across a newline.
func Redact(s string) string {
	for _, r := range redactionRules {
		if r.fn != nil {
			s = r.re.ReplaceAllStringFunc(s, r.fn)
			continue
		}
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// RedactionRules names the rules Redact applies, in order, for documentation
// and the report of what is removed.
func RedactionRules() []string {
	names := make([]string, len(redactionRules))
	for i, r := range redactionRules {
		names[i] = r.name
	}
	return names
}

func redactAssignment(m string) string {
	sub := secretAssignRe.FindStringSubmatch(m)
	name, sep, val := sub[1], sub[2], sub[3]
	if strings.HasPrefix(val, "=") || strings.Contains(val, "[REDACTED-") {
		return m // ":=" / "==" in code, or already redacted
	}
	switch strings.ToLower(val) {
	case "bearer", "basic", "digest", "token":
		return m // an auth scheme; the credential after it has its own rule
	}
	if isCodeExpression(val) {
		return m // token := getToken() keeps the code readable
	}
	switch val[0] {
	case '"', '\'', '`':
		if len(val) <= 2 {
			return m // empty literal
		}
		q := val[:1]
		return name + sep + q + redSecret + q
	}
	return name + sep + redSecret
}

// isCodeExpression reports whether an unquoted value is an identifier or a
// selector chain (cfg.Password, os.Getenv) rather than a literal secret. Only
// lower-risk shapes qualify: a bare word with no digits or a dotted path.
func isCodeExpression(v string) bool {
	if strings.HasSuffix(v, "(") || strings.Contains(v, "(") {
		return true
	}
	if !strings.Contains(v, ".") {
		return false
	}
	for _, part := range strings.Split(v, ".") {
		if part == "" || !isIdent(part) {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// redactAuthHeader keeps "Bearer"/"Basic" and drops the credential, unless
// the word after it is plain prose ("basic authentication").
func redactAuthHeader(m string) string {
	i := strings.IndexAny(m, " \t")
	scheme, cred := m[:i], strings.TrimLeft(m[i:], " \t")
	if len(cred) < 24 && !strings.ContainsAny(cred, "0123456789=._-+/~") {
		return m
	}
	return scheme + " " + redToken
}

func redactCard(m string) string {
	digits := make([]int, 0, 19)
	for _, c := range m {
		if c >= '0' && c <= '9' {
			digits = append(digits, int(c-'0'))
		}
	}
	if len(digits) < 13 || len(digits) > 19 || !luhn(digits) {
		return m
	}
	return redCard
}

// luhn reports whether digits pass the Luhn checksum used by card numbers.
func luhn(digits []int) bool {
	sum := 0
	for i := range digits {
		d := digits[len(digits)-1-i]
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func redactIP(m string) string {
	a, err := netip.ParseAddr(m)
	if err != nil || a.IsLoopback() || a.IsUnspecified() {
		return m
	}
	return redIP
}

func redactIPv6(m string) string {
	// The match may start with one boundary character the regexp consumed.
	lead := ""
	cand := m
	if len(m) > 0 && !isHexOrColon(m[0]) {
		lead, cand = m[:1], m[1:]
	}
	a, err := netip.ParseAddr(cand)
	if err != nil || !a.Is6() || a.IsLoopback() || a.IsUnspecified() {
		return m
	}
	return lead + redIP
}

func isHexOrColon(c byte) bool {
	return c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func redactPhone(m string) string {
	n := 0
	for _, c := range m {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	if n < 8 || n > 15 {
		return m
	}
	return redPhone
}
