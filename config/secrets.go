package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const secretHint = "secrets are read from the environment only (FAULTLINE_LOKI_TOKEN, GITHUB_TOKEN, OPENAI_API_KEY, ANTHROPIC_API_KEY), never from workspace configuration"

// secretKey matches key names that hold credentials.
var secretKey = regexp.MustCompile(`(?i)(token|password|passwd|secret|api[_-]?key|credential)`)

// rejectSecretsYAML walks every mapping key of a YAML document.
func rejectSecretsYAML(name string, n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if secretKey.MatchString(k.Value) {
				return fmt.Errorf("%s:%d: key %q looks like a secret; %s", name, k.Line, k.Value, secretHint)
			}
		}
	}
	for _, c := range n.Content {
		if err := rejectSecretsYAML(name, c); err != nil {
			return err
		}
	}
	return nil
}

// secretKeyIn returns the first key of a decoded JSON value that looks like
// a secret, or "".
func secretKeyIn(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if secretKey.MatchString(k) {
				return k
			}
			if s := secretKeyIn(child); s != "" {
				return s
			}
		}
	case []any:
		for _, child := range v {
			if s := secretKeyIn(child); s != "" {
				return s
			}
		}
	}
	return ""
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError rewrites yaml.v3's "line N: msg" into "file:N: msg".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = withFile(name, e)
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(withFile(name, err.Error()))
}

func withFile(name, msg string) string {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s:%s: %s", name, m[1], m[2])
	}
	return fmt.Sprintf("%s: %s", name, strings.TrimPrefix(msg, "yaml: "))
}

// Duration is a time.Duration written as "30s", "2m" in YAML and JSON.
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads "30s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: poll_interval: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes "30s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalJSON reads "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("poll_interval: want a duration string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("poll_interval: %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
