package pullrequest

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/faultline-dev/faultline/internal/fakegithub"
)

// fakeGitHub serves the REST endpoints Open calls through
// internal/fakegithub: GitHub's documented response shapes, every request
// recorded, and, like GitHub, a pull request refused while its head branch
// is not pushed.
type fakeGitHub struct {
	URL string // REST base URL, ending in /api/v3/
	srv *fakegithub.Server
}

type recorded struct {
	Method, Path, Query string
	Body                map[string]any
}

// newFakeGitHub serves owner/repo for token; branchExists reports what was
// pushed. Pull requests are numbered from 1347 with github.com web URLs.
func newFakeGitHub(t testing.TB, token, owner, repo string, branchExists func(branch string) (sha string, ok bool)) *fakeGitHub {
	t.Helper()
	srv, err := fakegithub.New(fakegithub.Options{
		Owner: owner, Repo: repo, Token: token, WebURL: "https://github.com", FirstNumber: 1347,
		Heads: func(branch string) (string, bool, error) {
			sha, ok := branchExists(branch)
			return sha, ok, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fakeGitHub{URL: hs.URL + "/api/v3/", srv: srv}
}

// calls returns the recorded requests matching method and a path suffix.
func (f *fakeGitHub) calls(method, pathSuffix string) []recorded {
	var out []recorded
	for _, r := range f.srv.Calls(method, pathSuffix) {
		rec := recorded{Method: r.Method, Path: r.Path, Query: r.Query}
		_ = json.Unmarshal(r.Body, &rec.Body) // a non-object body stays nil
		out = append(out, rec)
	}
	return out
}
