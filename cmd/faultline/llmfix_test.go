package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/faultline-dev/faultline/codeactions"
	"github.com/faultline-dev/faultline/codeactions/llm"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
)

// TestLLMFixBehindRules: for an incident no rule fixer handles (concurrent
// map writes), check asks the configured OpenAI-compatible server through
// the real langchaingo client, and offers the answer only after it applied
// and the package built. With send_code off, nothing is sent at all.
func TestLLMFixBehindRules(t *testing.T) {
	ms := makeScenario(t, "go-concurrent-map")
	s, dir, repo, logs, deploys := ms.s, ms.dir, ms.repo, ms.logs, ms.deploys
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	want := s.Expect.Incidents[0]
	before, err := os.ReadFile(filepath.Join(repo, want.File))
	if err != nil {
		t.Fatal(err)
	}
	// The canned answer: a change at the crashing line that builds.
	lines := strings.SplitAfter(string(before), "\n")
	lines[want.Line-1] = "\t// guarded by the caller\n" + lines[want.Line-1]
	answer := "```diff\n" + codeactions.UnifiedDiff(want.File, before, []byte(strings.Join(lines, ""))) + "```\n"

	srv, calls, body := fakeOpenAI(t, answer)
	defer srv.Close()

	run1 := func(sendCode bool) []incident.Incident {
		cfg := "llm:\n  provider: openai\n  base_url: " + srv.URL + "/v1\n  model: test-model\n  send_code: " + map[bool]string{true: "true", false: "false"}[sendCode] + "\n"
		if err := os.WriteFile(filepath.Join(repo, ".faultline.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"check", "--repo", repo, "--logs", logs, "--deploys", deploys, "--format", "json"}, &stdout, &stderr); code != 0 {
			t.Fatalf("check exited %d: %s", code, stderr.String())
		}
		var out struct {
			Incidents []incident.Incident `json:"incidents"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out.Incidents
	}

	incs := run1(false)
	if calls.Load() != 0 {
		t.Fatalf("send_code is false, yet %d requests reached the LLM", calls.Load())
	}
	for _, inc := range incs {
		if len(inc.Fixes) > 0 {
			t.Fatalf("a fix without a rule or the LLM: %+v", inc.Fixes)
		}
	}

	incs = run1(true)
	if calls.Load() == 0 {
		t.Fatal("send_code is true but the LLM was never asked")
	}
	var fix *incident.Fix
	for _, inc := range incs {
		if len(inc.Fixes) > 0 {
			fix = &inc.Fixes[0]
		}
	}
	if fix == nil || fix.Source != "llm:openai" || !fix.Validated || !strings.Contains(fix.Diff, "guarded by the caller") {
		t.Fatalf("fix = %+v, want the validated LLM answer", fix)
	}
	// The summary over the evidence adds to the deterministic note.
	for _, inc := range incs {
		rc := inc.RootCause
		if rc.LLMSummary != cannedSummary || rc.Summary == "" || rc.Summary == cannedSummary {
			t.Errorf("root cause = summary %q, llm %q: want both, the deterministic one kept", rc.Summary, rc.LLMSummary)
		}
	}
	req, _ := body.Load().(string)
	if !strings.Contains(req, `"temperature":0`) && strings.Contains(req, `"temperature"`) {
		t.Errorf("the request does not ask for temperature 0: %.300s", req)
	}
	if !strings.Contains(req, "untrusted-log-data") {
		t.Errorf("log text is not fenced as untrusted data in the prompt: %.300s", req)
	}
}

// TestPreviewPrompt: the prompt a user previews is the one that would be
// sent: log text fenced as untrusted data, credentials redacted.
func TestPreviewPrompt(t *testing.T) {
	d, err := buildDemo(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	incs := checkJSON(t, "--repo", d.Root, "--logs", d.Logs, "--deploys", d.Deploys)
	inc := incs[0]
	inc.Message += " token=ghp_CANARY0000000000000000000000000000"
	text, err := previewPrompt(d.Root, config.Config{}, inc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"untrusted-log-data", inc.Location.File, inc.ErrorType} {
		if !strings.Contains(text, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	if strings.Contains(text, "ghp_CANARY") {
		t.Error("the prompt carries the canary token")
	}
}

// cannedSummary is what the fake model answers to a summary request.
const cannedSummary = "The stats map is written by several goroutines since the mutex was dropped."

// fakeOpenAI serves the OpenAI chat completions API with one canned answer,
// counting the calls and keeping the last request body.
func fakeOpenAI(t *testing.T, answer string) (*httptest.Server, *atomic.Int32, *atomic.Value) {
	t.Helper()
	var calls atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		answer := answer
		if strings.Contains(string(b), "Summarise the likely root cause") {
			if strings.Contains(string(b), "source-file") {
				t.Errorf("a summary request carries source code: %.300s", b)
			}
			answer = cannedSummary
		} else {
			body.Store(string(b))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1732099321, "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
		})
	}))
	return srv, &calls, &body
}

// TestLSPFixerAsksLLM: in the editor, an incident no rule can fix offers
// "Ask llm:openai for a fix"; choosing it returns the model's change as an
// edit of the open document, after it applied and built.
func TestLSPFixerAsksLLM(t *testing.T) {
	ms := makeScenario(t, "go-concurrent-map")
	dir, repo, logs, deploys := ms.dir, ms.repo, ms.logs, ms.deploys
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	incs := checkJSON(t, "--repo", repo, "--logs", logs, "--deploys", deploys)
	inc := incs[0]
	path := filepath.Join(repo, inc.Location.File)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(before), "\n")
	lines[inc.Location.Line-1] = "\t// guarded by the caller\n" + lines[inc.Location.Line-1]
	srv, calls, _ := fakeOpenAI(t, "```diff\n"+codeactions.UnifiedDiff(inc.Location.File, before, []byte(strings.Join(lines, "")))+"```\n")
	defer srv.Close()

	f := newLSPFixer(fixService)
	f.llmFor = func(root string) *llm.Fixer {
		lf, err := newLLMFixer(config.LLM{Provider: "openai", BaseURL: srv.URL + "/v1", Model: "m", SendCode: true})
		if err != nil {
			t.Fatal(err)
		}
		return lf
	}
	doc := lsp.Document{URI: "file://" + path, Path: path, Root: repo, Version: 3, Text: string(before)}
	acts, err := f.CodeActions(context.Background(), inc, doc)
	if err != nil || len(acts) != 1 || acts[0].ID != llmActionID {
		t.Fatalf("actions = %+v, %v; want the LLM action alone", acts, err)
	}
	if calls.Load() != 0 {
		t.Fatal("listing actions must not call the model")
	}
	edits, err := f.Resolve(context.Background(), inc, doc, acts[0].ID)
	if err != nil || len(edits) != 1 || !strings.Contains(edits[0].NewText, "guarded by the caller") {
		t.Fatalf("edits = %+v, %v", edits, err)
	}
}
