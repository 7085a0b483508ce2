package pullrequest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// setup is a workspace pushed to a bare acme/shop.git over file://, a fake
// GitHub that knows the test token, and a request for the scenario's fix.
type setup struct {
	ws, root, bare string
	gh             *fakeGitHub
	opt            Options
	req            Request
}

func newSetup(t *testing.T, sc scenario) *setup {
	t.Helper()
	s := &setup{ws: newWorkspace(t, sc.repo), root: t.TempDir()}
	s.bare = newBare(t, s.root, "acme/shop.git", s.ws)
	gitRun(t, s.ws, "remote", "add", "origin", "file://"+s.bare)
	s.gh = newFakeGitHub(t, testToken, "acme", "shop", remoteBranch(t, s.bare))
	s.opt = Options{BaseURL: s.gh.URL, Token: testToken, Owner: "acme", Repo: "shop"}
	s.req = Request{Root: s.ws, Incident: sc.inc, Fix: incident.Fix{Diff: sc.fix, Source: "rule:test"}}
	return s
}

func TestOpenErrorsSayWhatToFix(t *testing.T) {
	sc := loadScenario(t)
	tests := []struct {
		name    string
		arrange func(t *testing.T, s *setup)
		want    []string
	}{
		{"no token", func(t *testing.T, s *setup) {
			for _, k := range tokenEnv {
				t.Setenv(k, "")
			}
			s.opt.Token = ""
		}, []string{"no GitHub token", "set GITHUB_TOKEN"}},
		{"not a git repository", func(t *testing.T, s *setup) {
			s.req.Root = t.TempDir()
		}, []string{"open git repository", "needs the workspace to be a git repository"}},
		{"no remote", func(t *testing.T, s *setup) {
			gitRun(t, s.ws, "remote", "remove", "origin")
		}, []string{`no git remote named "origin"`, "git remote add origin https://github.com/OWNER/REPO.git"}},
		{"other remote name missing", func(t *testing.T, s *setup) {
			s.req.Remote = "upstream"
		}, []string{`no git remote named "upstream"`, "this repository has origin"}},
		{"remote is not GitHub", func(t *testing.T, s *setup) {
			s.opt.Owner, s.opt.Repo = "", ""
		}, []string{`git remote "origin"`, "is not a GitHub repository on 127.0.0.1", "github.repo: OWNER/REPO"}},
		{"token rejected by GitHub", func(t *testing.T, s *setup) {
			s.opt.Token = "ghp_wrongWRONGwrong"
		}, []string{"GitHub rejected the token (401 Bad credentials)", "set GITHUB_TOKEN"}},
		{"repository not found", func(t *testing.T, s *setup) {
			s.opt.Repo = "nope"
		}, []string{"read repository acme/nope", "not found (404)"}},
		{"fix does not apply at HEAD", func(t *testing.T, s *setup) {
			s.req.Fix.Diff = sc.stale
		}, []string{"the fix does not apply at HEAD", "cart/cart.go", "regenerate it"}},
		{"fix changes nothing", func(t *testing.T, s *setup) {
			s.req.Fix.Diff = "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# shop\n+# shop\n"
		}, []string{"the fix changes nothing at HEAD"}},
		{"push rejected by a hook", func(t *testing.T, s *setup) {
			hook := filepath.Join(s.bare, "hooks", "pre-receive")
			script := "#!/bin/sh\necho 'branch policy: faultline/* branches need the bot team' >&2\nexit 1\n"
			if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		}, []string{"push of branch faultline/3f9a1c2e7b to origin", "rejected", "branch policy: faultline/* branches need the bot team"}},
		{"push credentials refused", func(t *testing.T, s *setup) {
			h := startHTTPGit(t, s.root, "x-access-token", "another-secret")
			gitRun(t, s.ws, "remote", "set-url", "origin", h.URL+"acme/shop.git")
		}, []string{"push to origin (http://127.0.0.1:", "was refused", "write access"}},
		{"ssh without agent", func(t *testing.T, s *setup) {
			t.Setenv("SSH_AUTH_SOCK", "")
			gitRun(t, s.ws, "remote", "set-url", "origin", "git@127.0.0.1:acme/shop.git")
		}, []string{"uses ssh but no ssh-agent is running"}},
		{"no diff", func(t *testing.T, s *setup) {
			s.req.Fix.Diff = " \n"
		}, []string{"the fix has no diff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, sc)
			tt.arrange(t, s)
			c, err := New(s.opt)
			if err != nil {
				t.Fatal(err)
			}
			var progress []string
			_, err = c.Open(context.Background(), s.req, func(m string) { progress = append(progress, m) })
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			for _, m := range append(progress, err.Error()) {
				if strings.Contains(m, testToken) || strings.Contains(m, "another-secret") {
					t.Errorf("token leaked: %q", m)
				}
			}
			if n := len(s.gh.calls("POST", "/pulls")); n != 0 {
				t.Errorf("%d pull requests created after a failure", n)
			}
			if _, err := gitOutput(s.bare, "rev-parse", "--verify", "-q", "refs/heads/faultline/3f9a1c2e7b"); err == nil && tt.name != "push credentials refused" {
				t.Errorf("branch pushed although Open failed")
			}
		})
	}
}

// TestPushUsesCredentialHelperForOtherHosts checks that the GitHub token
// goes only to the GitHub host: a push to another https host gets what the
// user's git credential helper returns.
func TestPushUsesCredentialHelperForOtherHosts(t *testing.T) {
	sc := loadScenario(t)
	s := newSetup(t, sc)
	h := startHTTPGit(t, s.root, "helper-user", "helper-pass")
	gitRun(t, s.ws, "remote", "set-url", "origin", h.URL+"acme/shop.git")
	gitRun(t, s.ws, "config", "credential.helper",
		`!f() { test "$1" = get && printf 'username=helper-user\npassword=helper-pass\n'; }; f`)
	// GitHub's API on "localhost", git on "127.0.0.1": different hosts.
	s.opt.BaseURL = strings.Replace(s.gh.URL, "127.0.0.1", "localhost", 1)
	c, err := New(s.opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Open(context.Background(), s.req, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if res.Number != 1347 {
		t.Errorf("result = %+v", res)
	}
	for _, cred := range h.credentials() {
		if strings.Contains(cred, testToken) {
			t.Errorf("GitHub token sent to a non-GitHub git host: %q", cred)
		}
	}
	if creds := h.credentials(); len(creds) == 0 || creds[len(creds)-1] != "helper-user:helper-pass" {
		t.Errorf("git server saw %q, want the credential helper's user and password", creds)
	}
}
