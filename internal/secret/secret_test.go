package secret

import "testing"

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"auth failed for ghp_CANARY0000000000000000000000000000":    "auth failed for [REDACTED]",
		"openai: invalid key sk-proj-abcdefghijklmnop1234":          "openai: invalid key [REDACTED]",
		"aws AKIAIOSFODNN7EXAMPLE denied":                           "aws [REDACTED] denied",
		"Authorization: Bearer abc.def-ghi_jkl012345":               "Authorization: Bearer [REDACTED]",
		"connect postgres://app:hunter2secret@db:5432/x refused":    "connect postgres://app:[REDACTED]@db:5432/x refused",
		`login failed password="correct horse" user=bob`:            `login failed password="[REDACTED]" user=bob`,
		"retry with token=abcd1234efgh":                             "retry with token=[REDACTED]",
		"jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f": "jwt [REDACTED]",
		// What a developer needs stays.
		"dial tcp 10.0.0.7:5432: connect: connection refused": "dial tcp 10.0.0.7:5432: connect: connection refused",
		"user bob@example.com not found":                      "user bob@example.com not found",
		"runtime error: index out of range [3] with length 3": "runtime error: index out of range [3] with length 3",
		"KeyError: 'token'":                                   "KeyError: 'token'",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
