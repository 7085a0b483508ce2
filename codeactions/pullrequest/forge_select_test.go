package pullrequest

import (
	"context"
	"strings"
	"testing"
)

// TestForgeSelection: the forge, the repository path and the host the
// token may go to follow from the remote URL and the options.
func TestForgeSelection(t *testing.T) {
	tokens := Options{Token: "gh", GitLabToken: "gl", GiteaToken: "gt"}
	with := func(f func(o *Options)) Options { o := tokens; f(&o); return o }
	tests := []struct {
		name, remote string
		opt          Options
		kind, path   string
		host         string // host the token is sent to
		err          string
	}{
		{"github.com", "https://github.com/acme/shop.git", tokens, KindGitHub, "acme/shop", "github.com", ""},
		{"github scp", "git@github.com:acme/shop.git", tokens, KindGitHub, "acme/shop", "github.com", ""},
		{"gitlab.com nested groups", "git@gitlab.com:acme/platform/shop.git", tokens, KindGitLab, "acme/platform/shop", "gitlab.com", ""},
		{"gitlab.com https", "https://gitlab.com/acme/shop", tokens, KindGitLab, "acme/shop", "gitlab.com", ""},
		{"self-managed gitlab", "https://gitlab.example.com/acme/shop.git",
			with(func(o *Options) { o.GitLabURL = "https://gitlab.example.com/" }), KindGitLab, "acme/shop", "gitlab.example.com", ""},
		{"gitlab under a path", "https://example.com/gitlab/acme/shop.git",
			with(func(o *Options) { o.GitLabURL = "https://example.com/gitlab" }), KindGitLab, "acme/shop", "example.com", ""},
		{"codeberg", "https://codeberg.org/acme/shop.git", tokens, KindGitea, "acme/shop", "codeberg.org", ""},
		{"gitea over ssh", "ssh://git@git.example.com:2222/acme/shop.git",
			with(func(o *Options) { o.GiteaURL = "https://git.example.com" }), KindGitea, "acme/shop", "git.example.com", ""},
		{"github enterprise", "https://ghe.acme.dev/acme/shop.git",
			with(func(o *Options) { o.BaseURL = "https://ghe.acme.dev/api/v3/" }), KindGitHub, "acme/shop", "ghe.acme.dev", ""},
		{"host wins over other config", "https://github.com/acme/shop.git",
			with(func(o *Options) { o.GitLabURL = "https://gitlab.example.com" }), KindGitHub, "acme/shop", "github.com", ""},
		{"kind gitea, base from remote", "https://git.internal:3000/acme/shop.git",
			with(func(o *Options) { o.Kind = "gitea" }), KindGitea, "acme/shop", "git.internal", ""},
		{"kind forgejo", "git@git.internal:acme/shop.git",
			with(func(o *Options) { o.Kind = "Forgejo" }), KindGitea, "acme/shop", "git.internal", ""},
		{"the one configured forge", "https://mirror.internal/acme/shop.git",
			with(func(o *Options) { o.GitLabURL = "https://gitlab.example.com" }), KindGitLab, "acme/shop", "gitlab.example.com", ""},
		{"file remote, override", "file:///srv/git/shop.git",
			with(func(o *Options) { o.GiteaURL = "http://127.0.0.1:3000"; o.Owner, o.Repo = "acme", "shop" }), KindGitea, "acme/shop", "127.0.0.1", ""},
		{"unknown host, nothing configured", "https://git.internal/acme/shop.git", tokens, "", "", "",
			"is not a GitHub repository on github.com"},
		{"several configured, none on the host", "file:///srv/git/shop.git",
			with(func(o *Options) { o.GitLabURL = "https://gitlab.example.com"; o.GiteaURL = "https://git.example.com" }), "", "", "",
			"cannot tell which forge hosts git remote"},
		{"gitea path too deep", "https://codeberg.org/acme/sub/shop.git", tokens, "", "", "",
			"names no Gitea repository on codeberg.org"},
		{"gitlab needs a group", "https://gitlab.com/shop.git", tokens, "", "", "",
			"names no GitLab project on gitlab.com"},
		{"file remote, gitlab kind, no URL", "file:///srv/git/shop.git",
			with(func(o *Options) { o.Kind = "gitlab" }), "", "", "", "set the GitLab URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			rm, err := parseRemote("origin", tt.remote, []string{c.githubHost})
			if err != nil {
				t.Fatal(err)
			}
			st, path, err := c.site(rm)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("site(%s) error = %v, want %q", tt.remote, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("site(%s): %v", tt.remote, err)
			}
			if st.kind != tt.kind || path != tt.path || st.host != tt.host {
				t.Errorf("site(%s) = %s %q token host %q, want %s %q %q", tt.remote, st.kind, path, st.host, tt.kind, tt.path, tt.host)
			}
		})
	}
}

func TestNewRejectsBadForgeOptions(t *testing.T) {
	for _, opt := range []Options{
		{Kind: "bitbucket"},
		{GitLabURL: "gitlab.example.com"},
		{GiteaURL: "ftp://git.example.com"},
		{Owner: "acme"},
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", opt)
		}
	}
}

// TestForgeErrorsSayWhatToFix: GitLab and Gitea failures name the fix,
// and nothing is pushed or opened after one.
func TestForgeErrorsSayWhatToFix(t *testing.T) {
	sc := loadScenario(t)
	gitlab, gitea := forgeCases()[0], forgeCases()[1]
	tests := []struct {
		name    string
		fc      forgeCase
		arrange func(t *testing.T, s *forgeSetup, o *Options)
		want    []string
	}{
		{"no GitLab token", gitlab, func(t *testing.T, s *forgeSetup, o *Options) { o.GitLabToken = "" },
			[]string{"no GitLab token", "set GITLAB_TOKEN", "api scope"}},
		{"GitLab project not found", gitlab, func(t *testing.T, s *forgeSetup, o *Options) { o.Repo = "nope" },
			[]string{"read GitLab project acme/platform/nope", "project not found (404)", "member of the project"}},
		{"GitLab token rejected", gitlab, func(t *testing.T, s *forgeSetup, o *Options) { o.GitLabToken = "glpat-wrongWRONG" },
			[]string{"GitLab rejected the token (401", "set GITLAB_TOKEN"}},
		{"file remote names no GitLab project", gitlab, func(t *testing.T, s *forgeSetup, o *Options) { o.Owner, o.Repo = "", "" },
			[]string{"names no GitLab project", "GROUP/PROJECT"}},
		{"no Gitea token", gitea, func(t *testing.T, s *forgeSetup, o *Options) { o.GiteaToken = "" },
			[]string{"no Gitea token", "set GITEA_TOKEN", "write:repository"}},
		{"Gitea repository not found", gitea, func(t *testing.T, s *forgeSetup, o *Options) { o.Repo = "nope" },
			[]string{"read Gitea repository acme/nope", "repository not found (404)"}},
		{"Gitea token rejected", gitea, func(t *testing.T, s *forgeSetup, o *Options) { o.GiteaToken = "wrongWRONG" },
			[]string{"Gitea rejected the token (401", "set GITEA_TOKEN"}},
		{"Gitea URL is not Gitea", gitea, func(t *testing.T, s *forgeSetup, o *Options) {
			o.GiteaURL = newFakeGitLab(t, "x", "acme/shop", remoteBranch(t, s.bare)).URL
		}, []string{"connect to Gitea at http://127.0.0.1:", "GET /api/v1/version", "is the Gitea URL right"}},
		{"two forges configured", gitea, func(t *testing.T, s *forgeSetup, o *Options) { o.GitLabURL = "https://gitlab.example.com" },
			[]string{`cannot tell which forge hosts git remote "origin"`, "set the forge kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newForgeSetup(t, sc, tt.fc, "file")
			opt := tt.fc.options(s.fake.url())
			tt.fc.override(&opt)
			tt.arrange(t, s, &opt)
			c, err := New(opt)
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
				if strings.Contains(m, tt.fc.token) || strings.Contains(m, "WRONG") {
					t.Errorf("token leaked: %q", m)
				}
			}
			if n := len(s.fake.calls("POST", "")); n != 0 {
				t.Errorf("%d POSTs after a failure", n)
			}
			if _, err := gitOutput(s.bare, "rev-parse", "--verify", "-q", "refs/heads/faultline/3f9a1c2e7b"); err == nil {
				t.Error("branch pushed although Open failed")
			}
		})
	}
}
