package pullrequest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub serves the REST endpoints Open calls, answering with GitHub's
// documented shapes (testdata/github/*.json) and recording every request.
// Like GitHub, it refuses a pull request whose head branch was not pushed.
type fakeGitHub struct {
	URL          string // REST base URL, ending in /api/v3/
	token        string
	owner, repo  string
	branchExists func(branch string) (sha string, ok bool)

	mu       sync.Mutex
	requests []recorded
	pulls    []map[string]any
}

type recorded struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
}

func newFakeGitHub(t testing.TB, token, owner, repo string, branchExists func(string) (string, bool)) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{token: token, owner: owner, repo: repo, branchExists: branchExists}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL + "/api/v3/"
	return f
}

func fixture(name string) map[string]any {
	data, err := os.ReadFile(filepath.Join("testdata", "github", name))
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		panic(err)
	}
	return m
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if r.Body != nil {
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &rec.Body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, rec)

	if rec.Auth != "Bearer "+f.token {
		reply(w, 401, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	repoPath := fmt.Sprintf("/api/v3/repos/%s/%s", f.owner, f.repo)
	switch {
	case r.Method == "GET" && r.URL.Path == repoPath:
		reply(w, 200, fixture("repo.json"))
	case r.Method == "GET" && r.URL.Path == repoPath+"/pulls":
		head, state := r.URL.Query().Get("head"), r.URL.Query().Get("state")
		out := []map[string]any{}
		for _, pr := range f.pulls {
			if (head == "" || pr["head"].(map[string]any)["label"] == head) && (state == "" || state == "all" || pr["state"] == state) {
				out = append(out, pr)
			}
		}
		reply(w, 200, out)
	case r.Method == "POST" && r.URL.Path == repoPath+"/pulls":
		f.createPull(w, rec.Body)
	default:
		reply(w, 404, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
	}
}

func (f *fakeGitHub) createPull(w http.ResponseWriter, in map[string]any) {
	head, _ := in["head"].(string)
	base, _ := in["base"].(string)
	sha, ok := f.branchExists(head)
	if !ok {
		reply(w, 422, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
			"errors": []map[string]any{{"resource": "PullRequest", "field": "head", "code": "invalid"}}})
		return
	}
	label := f.owner + ":" + head
	for _, pr := range f.pulls {
		if pr["head"].(map[string]any)["label"] == label && pr["state"] == "open" {
			reply(w, 422, map[string]any{"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
				"errors": []map[string]any{{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + label + "."}}})
			return
		}
	}
	pr := fixture("pull.json")
	n := 1347 + len(f.pulls)
	pr["number"] = n
	pr["html_url"] = fmt.Sprintf("https://github.com/%s/%s/pull/%d", f.owner, f.repo, n)
	pr["url"] = fmt.Sprintf("https://api.github.com/repos/%s/%s/pulls/%d", f.owner, f.repo, n)
	pr["title"], pr["body"] = in["title"], in["body"]
	h := pr["head"].(map[string]any)
	h["ref"], h["label"], h["sha"] = head, label, sha
	b := pr["base"].(map[string]any)
	b["ref"], b["label"] = base, f.owner+":"+base
	f.pulls = append(f.pulls, pr)
	reply(w, 201, pr)
}

// calls returns the recorded requests matching method and a path suffix.
func (f *fakeGitHub) calls(method, pathSuffix string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			out = append(out, r)
		}
	}
	return out
}
