package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bluekeyes/go-gitdiff/gitdiff"

	"github.com/faultline-dev/faultline/codeactions"
	"github.com/faultline-dev/faultline/codeactions/llm"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
)

// newLLMFixer returns the configured LLM fixer, or nil when none is
// configured or sending code is not allowed (the default: no code leaves
// the machine unless .faultline.yaml says llm.send_code: true).
func newLLMFixer(c config.LLM) (*llm.Fixer, error) {
	if c.Provider == "" || !c.SendCode {
		return nil, nil
	}
	audit := ""
	if dir, err := os.UserCacheDir(); err == nil {
		audit = filepath.Join(dir, "faultline", "llm-audit.jsonl")
		_ = os.MkdirAll(filepath.Dir(audit), 0o700)
	}
	return llm.New(llm.Config{Provider: c.Provider, BaseURL: c.BaseURL, Model: c.Model, SendCode: c.SendCode, AuditLog: audit})
}

// attachLLMFixes asks the LLM for incidents fixable by code that no rule
// fixer could fix. Its answer is checked like any diff (only the crashing
// file, no dependencies or CI files) and validated like a rule fix (it must
// apply and build); one that fails is dropped and reported on stderr.
func attachLLMFixes(ctx context.Context, root string, f *llm.Fixer, incs []incident.Incident, report func(string)) {
	if f == nil {
		return
	}
	for i := range incs {
		inc := &incs[i]
		if rc := inc.RootCause; rc == nil || !rc.Fixable || inc.Location == nil || len(inc.Fixes) > 0 {
			continue
		}
		fix, err := llmFix(ctx, root, f, *inc)
		if err != nil {
			report(fmt.Sprintf("llm fix for %s: %v", inc.ID, err))
			continue
		}
		inc.Fixes = append(inc.Fixes, fix)
	}
}

func llmFix(ctx context.Context, root string, f *llm.Fixer, inc incident.Incident) (incident.Fix, error) {
	abs, err := codeactions.WorkspaceFile(root, inc.Location.File)
	if err != nil {
		return incident.Fix{}, err
	}
	before, err := os.ReadFile(abs)
	if err != nil {
		return incident.Fix{}, fmt.Errorf("read %s: %w", inc.Location.File, err)
	}
	fix, err := f.Fix(ctx, llm.Input{Incident: inc, Root: root, File: inc.Location.File, Source: before})
	if err != nil {
		return incident.Fix{}, err
	}
	after, err := applyDiff(fix.Diff, before)
	if err != nil {
		return incident.Fix{}, err
	}
	v := fixService.Validator.Validate(ctx, codeactions.Request{IncidentID: inc.ID, Root: root, Path: inc.Location.File, Before: before, After: after})
	switch v.Verdict {
	case codeactions.Invalid:
		return incident.Fix{}, fmt.Errorf("the answer does not build: %s", v.Detail)
	case codeactions.Valid:
		fix.Validated = true
	}
	return fix, nil
}

// applyDiff applies a one-file unified diff to content.
func applyDiff(diff string, content []byte) ([]byte, error) {
	files, _, err := gitdiff.Parse(bytes.NewReader([]byte(diff)))
	if err != nil || len(files) != 1 {
		return nil, fmt.Errorf("the fix is not a one-file diff: %v", err)
	}
	var out bytes.Buffer
	if err := gitdiff.Apply(&out, bytes.NewReader(content), files[0]); err != nil {
		return nil, fmt.Errorf("the fix does not apply: %w", err)
	}
	return out.Bytes(), nil
}

// previewPrompt renders the prompt the LLM fixer would send for inc, with
// the workspace's configuration, whether or not sending is enabled.
func previewPrompt(root string, cfg config.Config, inc incident.Incident) (string, error) {
	if inc.Location == nil {
		return "", fmt.Errorf("incident %s has no location in this workspace", inc.ID)
	}
	c := cfg.LLM
	if c.Provider == "" {
		c.Provider = llm.ProviderOllama // the documented local default
	}
	f, err := llm.New(llm.Config{Provider: c.Provider, BaseURL: c.BaseURL, Model: c.Model})
	if err != nil {
		return "", err
	}
	abs, err := codeactions.WorkspaceFile(root, inc.Location.File)
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", inc.Location.File, err)
	}
	p, err := f.Prompt(llm.Input{Incident: inc, Root: root, File: inc.Location.File, Source: src})
	if err != nil {
		return "", err
	}
	return p.Text(), nil
}

// maxSummaries bounds the model calls of one check run.
const maxSummaries = 10

// attachLLMSummaries asks the LLM for a short summary over each incident's
// assembled evidence (most recent incidents first). The deterministic note
// stays; a failed call costs one line on stderr.
func attachLLMSummaries(ctx context.Context, f *llm.Fixer, incs []incident.Incident, report func(string)) {
	if f == nil {
		return
	}
	for i := range incs {
		if i == maxSummaries {
			report(fmt.Sprintf("llm summaries: only the %d most recent incidents are summarised", maxSummaries))
			return
		}
		rc := incs[i].RootCause
		if rc == nil {
			continue
		}
		s, err := f.Summarize(ctx, incs[i])
		if err != nil {
			report(fmt.Sprintf("llm summary for %s: %v", incs[i].ID, err))
			continue
		}
		rc.LLMSummary = s
	}
}
