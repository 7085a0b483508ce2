// Package config reads `.faultline.yaml` at a workspace root and merges the
// editor's overrides (LSP initializationOptions and workspace/configuration,
// which use the same keys as JSON) on top of it.
//
// Secrets are never part of a Config. Credentials come from the environment
// only, so that a workspace file committed to a repository cannot leak them:
//
//	FAULTLINE_LOKI_TOKEN  bearer token for Loki (and other log backends)
//	GITHUB_TOKEN          GitHub API token for pull requests
//	OPENAI_API_KEY        key for llm.provider: openai
//	ANTHROPIC_API_KEY     key for llm.provider: anthropic
//
// A configuration holding a key named like a secret (token, password,
// secret, api_key, ...) is rejected with an error naming the file and line.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the configuration file looked up at each workspace root.
const FileName = ".faultline.yaml"

// DefaultPollInterval is how often sources are polled when nothing says otherwise.
const DefaultPollInterval = 30 * time.Second

// Source kinds accepted in `sources[].kind`.
const (
	KindFile       = "file"
	KindLoki       = "loki"
	KindPrometheus = "prometheus"
	KindTraces     = "traces"
	KindCorrelator = "correlator"
	KindSentry     = "sentry" // also GlitchTip, which speaks the same API
)

// Severity names accepted in `severity.new` and `severity.recurring`; they
// are the LSP DiagnosticSeverity names.
const (
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
	SeverityHint        = "hint"
)

// Config is one workspace root's configuration. The zero value is not
// valid; start from Default.
type Config struct {
	Sources      []Source          `yaml:"sources" json:"sources"`
	Deploys      string            `yaml:"deploys" json:"deploys"`
	PathRules    []PathRule        `yaml:"path_rules" json:"path_rules"`
	Services     map[string]string `yaml:"services" json:"services"` // service name -> folder (monorepos)
	PollInterval Duration          `yaml:"poll_interval" json:"poll_interval"`
	Severity     Severity          `yaml:"severity" json:"severity"`
	LLM          LLM               `yaml:"llm" json:"llm"`
	GitHub       GitHub            `yaml:"github" json:"github"`
	// GitLab and Gitea name self-managed forges for pull requests; a remote
	// on gitlab.com or codeberg.org needs neither. Forge forces the kind
	// ("github", "gitlab", "gitea") when the remote's host does not tell.
	GitLab Forge  `yaml:"gitlab" json:"gitlab"`
	Gitea  Forge  `yaml:"gitea" json:"gitea"`
	Forge  string `yaml:"forge,omitempty" json:"forge,omitempty"`
	// BranchOnly, when set to a base branch (e.g. main), limits the
	// editor's diagnostics to files the current branch changed since it
	// forked from that branch: "what my change touches".
	BranchOnly string `yaml:"branch_only,omitempty" json:"branch_only,omitempty"`
}

// Forge is a self-managed GitLab or Gitea/Forgejo server.
type Forge struct {
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Source is one telemetry backend. File sources use Path; the others URL.
type Source struct {
	Kind     string            `yaml:"kind" json:"kind"`
	Path     string            `yaml:"path,omitempty" json:"path,omitempty"`
	URL      string            `yaml:"url,omitempty" json:"url,omitempty"`
	Selector string            `yaml:"selector,omitempty" json:"selector,omitempty"` // LogQL stream selector
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`     // labels for plain-text logs
	OrgID    string            `yaml:"org_id,omitempty" json:"org_id,omitempty"`     // X-Scope-OrgID
}

// Name identifies a source in messages and in the status: "loki http://...".
func (s Source) Name() string {
	if s.Path != "" {
		return s.Kind + " " + s.Path
	}
	return s.Kind + " " + s.URL
}

// PathRule rewrites a production path prefix to a workspace path prefix.
type PathRule struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// Severity maps an incident's state to an LSP diagnostic severity name.
type Severity struct {
	New       string `yaml:"new" json:"new"`             // new since the last deploy
	Recurring string `yaml:"recurring" json:"recurring"` // seen before the last deploy
	// By is "deploy" (the default: new and recurring as above) or "impact":
	// error, warning or information by rate and count, so a rare crash does
	// not shout as loud as one failing every request.
	By string `yaml:"by,omitempty" json:"by,omitempty"`
}

// LLM configures the optional LLM fixer. SendCode is off by default: no
// workspace code leaves the machine unless the user says so.
type LLM struct {
	Provider string `yaml:"provider,omitempty" json:"provider,omitempty"` // openai | anthropic | ollama
	BaseURL  string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	Model    string `yaml:"model,omitempty" json:"model,omitempty"`
	SendCode bool   `yaml:"send_code" json:"send_code"`
}

// GitHub configures pull requests.
type GitHub struct {
	Repo    string `yaml:"repo,omitempty" json:"repo,omitempty"` // owner/name
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
}

// Default returns the configuration used when no file and no override says
// otherwise.
func Default() Config {
	return Config{
		PollInterval: Duration(DefaultPollInterval),
		Severity:     Severity{New: SeverityError, Recurring: SeverityWarning},
	}
}

// Load reads root/.faultline.yaml over the defaults. A missing file yields
// the defaults; a malformed or invalid one an error starting with file:line.
func Load(root string) (Config, error) {
	path := filepath.Join(root, FileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse reads YAML configuration data over the defaults; name is used in
// error messages.
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, yamlError(name, err)
	}
	if err := rejectSecretsYAML(name, &doc); err != nil {
		return Config{}, err
	}
	if len(doc.Content) == 0 { // empty or comments only
		return c, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, yamlError(name, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// Merge returns c with the keys present in overrides replaced (JSON, the
// same keys as the YAML file). Lists are replaced, not appended; services
// are merged by name. An empty or null override returns c unchanged.
func (c Config) Merge(overrides json.RawMessage) (Config, error) {
	trimmed := bytes.TrimSpace(overrides)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return c, nil
	}
	var generic any
	if err := json.Unmarshal(trimmed, &generic); err != nil {
		return Config{}, fmt.Errorf("read settings: %w", err)
	}
	if key := secretKeyIn(generic); key != "" {
		return Config{}, fmt.Errorf("settings: key %q looks like a secret; %s", key, secretHint)
	}
	out := c.clone()
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return Config{}, fmt.Errorf("read settings: %w", err)
	}
	if err := out.Validate(); err != nil {
		return Config{}, fmt.Errorf("settings: %w", err)
	}
	return out, nil
}

// clone copies the maps and slices so that a merge never writes into a
// Config another goroutine may be reading.
func (c Config) clone() Config {
	out := c
	out.Sources = append([]Source(nil), c.Sources...)
	out.PathRules = append([]PathRule(nil), c.PathRules...)
	if c.Services != nil {
		out.Services = make(map[string]string, len(c.Services))
		for k, v := range c.Services {
			out.Services[k] = v
		}
	}
	return out
}

// WithSources returns c with extra sources appended (the CLI's --logs and
// --source flags add to what the file configures).
func (c Config) WithSources(extra ...Source) Config {
	out := c.clone()
	out.Sources = append(out.Sources, extra...)
	return out
}

// Validate reports the first value outside its allowed set.
func (c Config) Validate() error {
	for i, s := range c.Sources {
		switch s.Kind {
		case KindFile:
			if s.Path == "" {
				return fmt.Errorf("sources[%d]: kind file needs a path", i)
			}
		case KindLoki, KindPrometheus, KindTraces, KindCorrelator, KindSentry, "glitchtip":
			if s.URL == "" {
				return fmt.Errorf("sources[%d]: kind %s needs a url", i, s.Kind)
			}
		default:
			return fmt.Errorf("sources[%d]: unknown kind %q (want file, loki, prometheus, traces, correlator or sentry)", i, s.Kind)
		}
	}
	if c.PollInterval <= 0 {
		return fmt.Errorf("poll_interval must be positive, got %s", time.Duration(c.PollInterval))
	}
	if c.Severity.By != "" && c.Severity.By != "deploy" && c.Severity.By != "impact" {
		return fmt.Errorf("severity.by: unknown %q (want deploy or impact)", c.Severity.By)
	}
	for name, v := range map[string]string{"severity.new": c.Severity.New, "severity.recurring": c.Severity.Recurring} {
		switch v {
		case SeverityError, SeverityWarning, SeverityInformation, SeverityHint:
		default:
			return fmt.Errorf("%s: unknown severity %q (want error, warning, information or hint)", name, v)
		}
	}
	switch c.LLM.Provider {
	case "", "openai", "anthropic", "ollama":
	default:
		return fmt.Errorf("llm.provider: unknown provider %q (want openai, anthropic or ollama)", c.LLM.Provider)
	}
	if r := c.GitHub.Repo; r != "" {
		owner, name, ok := strings.Cut(r, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("github.repo: want owner/name, got %q", r)
		}
	}
	return nil
}
