package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadFixture copies testdata/name to root/.faultline.yaml and loads it, so
// the test goes through Load exactly as the server does.
func loadFixture(t *testing.T, name string) (Config, error) {
	t.Helper()
	root := t.TempDir()
	if name != "" {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, FileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Load(root)
}

func TestLoad(t *testing.T) {
	full := Config{
		Sources: []Source{
			{Kind: KindLoki, URL: "http://127.0.0.1:3100", Selector: `{service="checkout"}`, OrgID: "tenant-1"},
			{Kind: KindFile, Path: "logs/prod.jsonl", Labels: map[string]string{"service": "checkout", "env": "prod"}},
		},
		Deploys:      "deploys.jsonl",
		PathRules:    []PathRule{{From: "/app/", To: "services/checkout/"}},
		Services:     map[string]string{"checkout": "services/checkout", "billing": "services/billing"},
		PollInterval: Duration(time.Minute),
		Severity:     Severity{New: SeverityWarning, Recurring: SeverityHint},
		LLM:          LLM{Provider: "ollama", BaseURL: "http://127.0.0.1:11434", Model: "llama3"},
		GitHub:       GitHub{Repo: "acme/shop", BaseURL: "https://ghe.acme.dev/api/v3/"},
	}
	tests := []struct {
		fixture string // "" = no file at all
		want    Config
		wantErr string // substring; includes file:line where the user needs it
	}{
		{fixture: "", want: Default()},
		{fixture: "empty.yaml", want: Default()},
		{fixture: "full.yaml", want: full},
		{fixture: "secret.yaml", wantErr: `.faultline.yaml:4: key "bearer_token" looks like a secret`},
		{fixture: "secret_top.yaml", wantErr: `.faultline.yaml:3: key "api_key" looks like a secret`},
		{fixture: "malformed.yaml", wantErr: `.faultline.yaml:3: found character that cannot start any token`},
		{fixture: "unknown_key.yaml", wantErr: `.faultline.yaml:2: field polling not found`},
		{fixture: "bad_kind.yaml", wantErr: `unknown kind "kafka"`},
		{fixture: "bad_duration.yaml", wantErr: `.faultline.yaml:3: poll_interval: time: invalid duration "soon"`},
		{fixture: "bad_severity.yaml", wantErr: `severity.new: unknown severity "fatal"`},
		{fixture: "bad_repo.yaml", wantErr: `github.repo: want owner/name`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := loadFixture(t, tt.fixture)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	base, err := loadFixture(t, "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		json    string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "empty", json: ``, check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c, base) {
				t.Errorf("empty override changed the config: %+v", c)
			}
		}},
		{name: "null", json: `null`, check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c, base) {
				t.Errorf("null override changed the config")
			}
		}},
		{name: "poll and severity", json: `{"poll_interval":"5s","severity":{"new":"error","recurring":"warning"}}`,
			check: func(t *testing.T, c Config) {
				if c.PollInterval.D() != 5*time.Second || c.Severity.New != "error" || c.Severity.Recurring != "warning" {
					t.Errorf("got %+v", c)
				}
				if c.GitHub.Repo != "acme/shop" {
					t.Errorf("keys absent from the override must stay: github.repo = %q", c.GitHub.Repo)
				}
			}},
		{name: "sources replaced", json: `{"sources":[{"kind":"file","path":"x.jsonl"}]}`,
			check: func(t *testing.T, c Config) {
				if len(c.Sources) != 1 || c.Sources[0].Path != "x.jsonl" {
					t.Errorf("sources = %+v", c.Sources)
				}
			}},
		{name: "services merged without touching base", json: `{"services":{"cart":"svc/cart"}}`,
			check: func(t *testing.T, c Config) {
				if c.Services["cart"] != "svc/cart" || c.Services["checkout"] != "services/checkout" {
					t.Errorf("services = %v", c.Services)
				}
				if _, ok := base.Services["cart"]; ok {
					t.Errorf("Merge wrote into the receiver's map")
				}
			}},
		{name: "secret", json: `{"github":{"repo":"a/b","token":"x"}}`, wantErr: `key "token" looks like a secret`},
		{name: "unknown key", json: `{"pol_interval":"5s"}`, wantErr: `unknown field "pol_interval"`},
		{name: "bad duration", json: `{"poll_interval":5}`, wantErr: `poll_interval: want a duration string`},
		{name: "invalid value", json: `{"llm":{"provider":"gpt"}}`, wantErr: `unknown provider "gpt"`},
		{name: "not json", json: `{"sources":`, wantErr: `read settings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.Merge(json.RawMessage(tt.json))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Merge error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			tt.check(t, got)
		})
	}
}

func TestWithSourcesDoesNotAlias(t *testing.T) {
	base := Default().WithSources(Source{Kind: KindFile, Path: "a"})
	base.Sources = base.Sources[:1:1]
	a := base.WithSources(Source{Kind: KindFile, Path: "b"})
	b := base.WithSources(Source{Kind: KindFile, Path: "c"})
	if a.Sources[1].Path != "b" || b.Sources[1].Path != "c" || len(base.Sources) != 1 {
		t.Errorf("WithSources aliased: a=%v b=%v base=%v", a.Sources, b.Sources, base.Sources)
	}
	if got := (Source{Kind: KindLoki, URL: "http://h"}).Name(); got != "loki http://h" {
		t.Errorf("Name = %q", got)
	}
}
