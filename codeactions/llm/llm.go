// Package llm asks a language model for a fix to an incident and accepts the
// answer only as a minimal unified diff of the crashing file.
//
// Privacy and safety are the point of the package's shape:
//   - Nothing leaves the machine unless Config.SendCode is true; otherwise Fix
//     returns ErrDisabled before any client is built. Prompt works either way,
//     so the user can read exactly what would be sent.
//   - Every text that enters a prompt passes through Redact, and every prompt
//     sent is appended to the audit log first (no log, no send).
//   - Log-derived text sits inside <untrusted-log-data> fences that data cannot
//     close; the system message is a constant.
//   - The answer is parsed and rejected if it touches any other file, CI or
//     dependency manifests, adds third-party imports, has unsafe paths or does
//     not apply. The Fix it returns carries a diff re-rendered from the
//     located hunks and checked by an independent applier.
//
// API keys come only from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY).
package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// ErrDisabled is returned by Fix when the configuration does not allow code
// to be sent to a model.
var ErrDisabled = errors.New("llm fixes are disabled: set sendCode to allow code to be sent to the model")

// Providers.
const (
	ProviderOpenAI    = "openai" // api.openai.com or any OpenAI-compatible server (vLLM, llama.cpp, LM Studio)
	ProviderAnthropic = "anthropic"
	ProviderOllama    = "ollama"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// maxTokens bounds the answer; a minimal diff is far smaller.
const maxTokens = 4096

// defaultModels are used when Config.Model is empty.
var defaultModels = map[string]string{
	ProviderOpenAI:    "gpt-4o-mini",
	ProviderAnthropic: "claude-3-5-haiku-latest",
	ProviderOllama:    "qwen2.5-coder:7b",
}

// Config selects the model and says whether code may leave the machine.
type Config struct {
	Provider string // "openai" (any OpenAI-compatible base URL), "anthropic", "ollama"
	BaseURL  string // e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434 for Ollama
	Model    string
	// SendCode must be true for Fix to send anything; off by default.
	SendCode bool
	// Timeout bounds one request; DefaultTimeout when zero.
	Timeout time.Duration
	// AuditLog is a file every prompt sent is appended to, one JSON line each.
	AuditLog string
}

// Input is what the fixer needs to ask for a fix of one file.
type Input struct {
	Incident    incident.Incident
	Root        string // workspace root, to read go.mod and find project modules
	File        string // repo-relative, forward slashes: the only file the fix may touch
	Source      []byte // the file's current content (the document version the fix applies to)
	SuspectDiff string // the suspect commit's diff, optional
}

// Fixer asks one configured model for fixes. It is safe for concurrent use.
type Fixer struct {
	cfg     Config
	auditMu sync.Mutex
}

// New checks cfg and fills in defaults. It makes no network call and needs
// no API key, so a disabled fixer can still preview prompts.
func New(cfg Config) (*Fixer, error) {
	cfg.Provider = strings.ToLower(strings.TrimSpace(cfg.Provider))
	if _, ok := defaultModels[cfg.Provider]; !ok {
		return nil, fmt.Errorf("llm: unknown provider %q (want openai, anthropic or ollama)", cfg.Provider)
	}
	if cfg.Model == "" {
		cfg.Model = defaultModels[cfg.Provider]
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("llm: base URL %q is not an http(s) URL", cfg.BaseURL)
		}
	}
	return &Fixer{cfg: cfg}, nil
}

// Source is the value Fix puts in incident.Fix.Source.
func (f *Fixer) Source() string { return "llm:" + f.cfg.Provider }

// Fix asks the model for a diff fixing in.Incident in in.File and returns it
// only if it passes every check. Validated is left false: building and
// testing the fix is the validation stage's job. Cancelling ctx or running
// past the configured timeout aborts the request.
func (f *Fixer) Fix(ctx context.Context, in Input) (incident.Fix, error) {
	if !f.cfg.SendCode {
		return incident.Fix{}, ErrDisabled
	}
	p, err := f.Prompt(in)
	if err != nil {
		return incident.Fix{}, err
	}
	model, err := f.model()
	if err != nil {
		return incident.Fix{}, err
	}
	if err := f.audit(p); err != nil {
		return incident.Fix{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	answer, err := f.ask(ctx, model, p)
	if err != nil {
		return incident.Fix{}, err
	}
	diff, err := checkAnswer(in, answer)
	if err != nil {
		return incident.Fix{}, fmt.Errorf("llm %s: answer rejected: %w", f.cfg.Provider, err)
	}
	return incident.Fix{
		Title:  fmt.Sprintf("Fix %s in %s (suggested by %s)", titleError(in.Incident), in.File, f.cfg.Model),
		Diff:   diff,
		Source: f.Source(),
	}, nil
}

func (f *Fixer) ask(ctx context.Context, model llms.Model, p Prompt) (string, error) {
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, p.System),
		llms.TextParts(llms.ChatMessageTypeHuman, p.User),
	}
	opts := []llms.CallOption{llms.WithTemperature(0), llms.WithModel(f.cfg.Model)}
	if f.cfg.Provider != ProviderOpenAI {
		// Anthropic requires max_tokens; Ollama maps it to num_predict. Some
		// OpenAI-compatible servers reject max_completion_tokens, so not there.
		opts = append(opts, llms.WithMaxTokens(maxTokens))
	}
	resp, err := model.GenerateContent(ctx, msgs, opts...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("llm %s: request aborted: %w", f.cfg.Provider, ctxErr)
		}
		return "", fmt.Errorf("llm %s: request to model %s: %w", f.cfg.Provider, f.cfg.Model, err)
	}
	var b strings.Builder
	for _, c := range resp.Choices {
		if c != nil {
			b.WriteString(c.Content)
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", fmt.Errorf("llm %s: empty answer", f.cfg.Provider)
	}
	return b.String(), nil
}

// checkAnswer turns the model's answer into a diff of in.File that has
// passed every check, or says why not.
func checkAnswer(in Input, answer string) (string, error) {
	files, err := parseAnswer(answer)
	if err != nil {
		return "", err
	}
	hunks, err := selectHunks(files, in.File)
	if err != nil {
		return "", err
	}
	patched, placedHunks, err := applyHunks(in.Source, hunks)
	if err != nil {
		return "", err
	}
	if string(patched) == string(in.Source) {
		return "", fmt.Errorf("%w: the diff changes nothing", ErrNoDiff)
	}
	if err := checkImports(in, in.Source, patched); err != nil {
		return "", err
	}
	diff := render(in.File, in.Source, placedHunks)
	if err := verifyRendered(diff, in.Source, patched); err != nil {
		return "", err
	}
	return diff, nil
}

// model builds the langchaingo client for the configured provider. Keys
// come from the environment only and never appear in errors.
func (f *Fixer) model() (llms.Model, error) {
	hc := &http.Client{Transport: http.DefaultTransport}
	switch f.cfg.Provider {
	case ProviderOpenAI:
		key := os.Getenv("OPENAI_API_KEY")
		if key == "" && f.cfg.BaseURL == "" {
			return nil, errors.New("llm openai: set OPENAI_API_KEY, or a base URL of a local OpenAI-compatible server")
		}
		if key == "" {
			key = "unused" // local servers ignore it; the client insists on one
		}
		opts := []openai.Option{openai.WithToken(key), openai.WithModel(f.cfg.Model), openai.WithHTTPClient(hc)}
		if f.cfg.BaseURL != "" {
			opts = append(opts, openai.WithBaseURL(strings.TrimRight(f.cfg.BaseURL, "/")))
		}
		m, err := openai.New(opts...)
		if err != nil {
			return nil, fmt.Errorf("llm openai: create client: %w", err)
		}
		return m, nil
	case ProviderAnthropic:
		key := os.Getenv("ANTHROPIC_API_KEY")
		if key == "" {
			return nil, errors.New("llm anthropic: set ANTHROPIC_API_KEY")
		}
		opts := []anthropic.Option{anthropic.WithToken(key), anthropic.WithModel(f.cfg.Model), anthropic.WithHTTPClient(hc)}
		if f.cfg.BaseURL != "" {
			opts = append(opts, anthropic.WithBaseURL(strings.TrimRight(f.cfg.BaseURL, "/")))
		}
		m, err := anthropic.New(opts...)
		if err != nil {
			return nil, fmt.Errorf("llm anthropic: create client: %w", err)
		}
		return m, nil
	default:
		// New validated BaseURL already: ollama.WithServerURL exits the
		// process on a URL it cannot parse.
		opts := []ollama.Option{ollama.WithModel(f.cfg.Model), ollama.WithHTTPClient(hc)}
		if f.cfg.BaseURL != "" {
			opts = append(opts, ollama.WithServerURL(f.cfg.BaseURL))
		}
		m, err := ollama.New(opts...)
		if err != nil {
			return nil, fmt.Errorf("llm ollama: create client: %w", err)
		}
		return m, nil
	}
}

// auditRecord is one line of the audit log.
type auditRecord struct {
	Time         time.Time `json:"time"`
	Provider     string    `json:"provider"`
	Model        string    `json:"model"`
	BaseURL      string    `json:"base_url,omitempty"`
	PromptSHA256 string    `json:"prompt_sha256"`
	Prompt       Prompt    `json:"prompt"`
}

// audit appends the prompt to the audit log before it is sent. A prompt that
// cannot be recorded is not sent.
func (f *Fixer) audit(p Prompt) error {
	if f.cfg.AuditLog == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(p.System + "\x00" + p.User))
	rec := auditRecord{
		Time: time.Now().UTC(), Provider: f.cfg.Provider, Model: f.cfg.Model,
		BaseURL: f.cfg.BaseURL, PromptSHA256: hex.EncodeToString(sum[:]), Prompt: p,
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("llm: encode audit record: %w", err)
	}
	f.auditMu.Lock()
	defer f.auditMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.cfg.AuditLog), 0o700); err != nil {
		return fmt.Errorf("llm: create audit log folder: %w", err)
	}
	fh, err := os.OpenFile(f.cfg.AuditLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("llm: open audit log: %w", err)
	}
	if _, err := fh.Write(append(line, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("llm: write audit log: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("llm: close audit log: %w", err)
	}
	return nil
}

func checkInput(in Input) error {
	if in.File == "" {
		return errors.New("llm: input names no file")
	}
	if err := checkPath(in.File, in.File); err != nil && !errors.Is(err, ErrCIFile) && !errors.Is(err, ErrDependency) {
		return fmt.Errorf("llm: input file: %w", err)
	}
	return nil
}

// titleError is a short, single-line, redacted name of the error for a title.
func titleError(inc incident.Incident) string {
	t := inc.ErrorType
	if t == "" {
		t = "crash"
	}
	return truncate(oneLine(Redact(t)), 80)
}
