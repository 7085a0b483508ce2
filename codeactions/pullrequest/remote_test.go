package pullrequest

import "testing"

func TestParseRemote(t *testing.T) {
	hosts := []string{"github.com", "ghe.acme.dev"}
	tests := []struct {
		url, owner, repo string
	}{
		{"https://github.com/acme/shop.git", "acme", "shop"},
		{"https://github.com/acme/shop", "acme", "shop"},
		{"https://x-access-token:secret@github.com/acme/shop.git", "acme", "shop"},
		{"git@github.com:acme/shop.git", "acme", "shop"},
		{"ssh://git@github.com/acme/shop.git", "acme", "shop"},
		{"https://GHE.acme.dev/platform/api.git", "platform", "api"},
		{"git@ghe.acme.dev:platform/api.git", "platform", "api"},
		{"https://gitlab.com/acme/shop.git", "", ""},
		{"https://github.com/acme/shop/extra.git", "", ""},
		{"https://github.com/acme", "", ""},
		{"file:///srv/git/acme/shop.git", "", ""},
		{"/srv/git/acme/shop.git", "", ""},
		{"git://127.0.0.1:9418/acme/shop.git", "", ""},
	}
	for _, tt := range tests {
		r, err := parseRemote("origin", tt.url, hosts)
		if err != nil {
			t.Errorf("parseRemote(%q): %v", tt.url, err)
			continue
		}
		if r.Owner != tt.owner || r.Repo != tt.repo {
			t.Errorf("parseRemote(%q) = %q/%q, want %q/%q", tt.url, r.Owner, r.Repo, tt.owner, tt.repo)
		}
	}
	r, _ := parseRemote("origin", "https://x-access-token:secret@github.com/acme/shop.git", hosts)
	if got := r.Redacted(); got != "https://github.com/acme/shop.git" {
		t.Errorf("Redacted() = %q", got)
	}
}

func TestAPIHost(t *testing.T) {
	tests := []struct{ base, want string }{
		{"", "github.com"},
		{"https://api.github.com/", "github.com"},
		{"https://ghe.acme.dev/api/v3/", "ghe.acme.dev"},
		{"https://api.ghe.acme.dev/", "ghe.acme.dev"},
		{"http://127.0.0.1:8080/api/v3/", "127.0.0.1"},
		{"ftp://ghe.acme.dev/", ""},
		{"not a url", ""},
	}
	for _, tt := range tests {
		got, err := apiHost(tt.base)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("apiHost(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
