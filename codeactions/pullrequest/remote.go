package pullrequest

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// remote is a git remote as far as opening a pull request cares: where to
// push and which GitHub repository it names.
type remote struct {
	Name     string
	URL      string // as configured; may carry credentials, so print Redacted
	Endpoint *transport.Endpoint
	Owner    string // empty when the URL names no GitHub repository
	Repo     string
}

// Redacted is the remote URL without any user name or password, for
// messages: a URL in .git/config may embed a token.
func (r remote) Redacted() string { return redactURL(r.URL) }

// parseRemote reads a remote URL (https://host/o/r.git, git@host:o/r.git,
// ssh://git@host/o/r, git://, file://, a path) and, when its host is one of
// githubHosts, the owner and repository it names.
func parseRemote(name, rawURL string, githubHosts []string) (remote, error) {
	r := remote{Name: name, URL: rawURL}
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return r, fmt.Errorf("remote %q has a URL git cannot read (%s): %w", name, redactURL(rawURL), err)
	}
	r.Endpoint = ep
	if ep.Protocol == "file" || !hostIn(ep.Host, githubHosts) {
		return r, nil
	}
	parts := strings.Split(strings.Trim(ep.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return r, nil
	}
	r.Owner, r.Repo = parts[0], strings.TrimSuffix(parts[1], ".git")
	if r.Repo == "" {
		r.Owner = ""
	}
	return r, nil
}

// hostIn reports whether host (no port) is one of hosts, ignoring case.
func hostIn(host string, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// apiHost is the host git traffic of a GitHub instance goes to, given its
// REST base URL: github.com for api.github.com, else the base URL's host
// (GitHub Enterprise serves git and /api/v3 from one host).
func apiHost(baseURL string) (string, error) {
	if baseURL == "" {
		return "github.com", nil
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("GitHub base URL %q is not an http(s) URL like https://github.example.com/api/v3/", redactURL(baseURL))
	}
	h := u.Hostname()
	if strings.EqualFold(h, "api.github.com") {
		return "github.com", nil
	}
	return strings.TrimPrefix(strings.ToLower(h), "api."), nil
}

// redactURL drops the user info of a URL; text that does not parse as a URL
// (scp-like git@host:path) is returned as is, as it carries no password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
