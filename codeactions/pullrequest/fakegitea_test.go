package pullrequest

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitea serves the Gitea API v1 endpoints Open calls, answering with
// the documented shapes in testdata/gitea: GET /version (the SDK asks it
// first), GET /repos/{owner}/{repo}, GET and POST /repos/{owner}/{repo}/pulls,
// the list paged with limit/page and a Link header. Like Gitea, it wants
// "Authorization: token ...", answers 404 to a head branch that was not
// pushed and 409 to a second open pull request for the same branches.
type fakeGitea struct {
	URL         string // web root; the API is under /api/v1
	log         forgeLog
	t           testing.TB
	token       string
	owner, repo string
	heads       func(branch string) (string, bool)
	webURL      string

	mu    sync.Mutex
	pulls []map[string]any
	race  bool // the first POST loses to a concurrent Open (409)
}

func newFakeGitea(t testing.TB, token, owner, repo string, heads func(string) (string, bool)) *fakeGitea {
	f := &fakeGitea{t: t, token: token, owner: owner, repo: repo, heads: heads, webURL: "https://git.example.com"}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeGitea) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "url": f.webURL + "/api/swagger"})
}

func (f *fakeGitea) serve(w http.ResponseWriter, r *http.Request) {
	c := f.log.record(r)
	if c.Path == "/api/v1/version" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, loadFixture(f.t, "gitea/version.json"))
		return
	}
	if r.Header.Get("Authorization") != "token "+f.token {
		f.fail(w, http.StatusUnauthorized, "user does not exist [uid: 0, name: ]")
		return
	}
	rest, ok := strings.CutPrefix(c.Path, "/api/v1/repos/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[0] != f.owner || parts[1] != f.repo {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{}, "message": "The target couldn't be found.", "url": f.webURL + "/api/swagger"})
		return
	}
	sub := strings.Join(parts[2:], "/")
	switch {
	case sub == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, f.repository())
	case sub == "pulls" && r.Method == http.MethodGet:
		f.list(w, r)
	case sub == "pulls" && r.Method == http.MethodPost:
		f.create(w, c.Body)
	default:
		f.fail(w, http.StatusNotFound, "The target couldn't be found.")
	}
}

func (f *fakeGitea) repository() map[string]any {
	m := loadFixture(f.t, "gitea/repository.json")
	full := f.owner + "/" + f.repo
	m["name"], m["full_name"] = f.repo, full
	m["html_url"], m["clone_url"] = f.webURL+"/"+full, f.webURL+"/"+full+".git"
	if o, ok := m["owner"].(map[string]any); ok {
		o["login"], o["username"] = f.owner, f.owner
	}
	return m
}

// list answers one page of the pull requests in the asked state, newest
// first, as Gitea does.
func (f *fakeGitea) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	page, _ := strconv.Atoi(q.Get("page"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, limit = max(page, 1), min(max(limit, 1), 50)
	f.mu.Lock()
	var match []map[string]any
	for i := len(f.pulls) - 1; i >= 0; i-- {
		if p := f.pulls[i]; state == "" || state == "all" || p["state"] == state {
			match = append(match, maps.Clone(p))
		}
	}
	f.mu.Unlock()
	lo, hi := min((page-1)*limit, len(match)), min(page*limit, len(match))
	if hi < len(match) {
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?limit=%d&page=%d&state=%s>; rel="next"`, "http://"+r.Host, r.URL.Path, limit, page+1, state))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(match)))
	writeJSON(w, http.StatusOK, append([]map[string]any{}, match[lo:hi]...))
}

func (f *fakeGitea) create(w http.ResponseWriter, body map[string]any) {
	head, base := str(body, "head"), str(body, "base")
	if head == base {
		f.fail(w, http.StatusUnprocessableEntity, "Invalid PullRequest: There are no changes between the head and the base")
		return
	}
	if _, ok := f.heads(head); !ok {
		f.fail(w, http.StatusNotFound, "The target couldn't be found.")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.race {
		f.race = false
		f.add("Opened elsewhere", "", head, base)
	}
	for _, p := range f.pulls {
		if p["state"] == "open" && p["head"].(map[string]any)["ref"] == head && p["base"].(map[string]any)["ref"] == base {
			f.fail(w, http.StatusConflict, fmt.Sprintf("pull request already exists for these targets [id: %v, issue_id: %v, head_repo_id: 31, base_repo_id: 31, head_branch: %s, base_branch: %s]", p["id"], p["number"], head, base))
			return
		}
	}
	writeJSON(w, http.StatusCreated, f.add(str(body, "title"), str(body, "body"), head, base))
}

// add stores the next pull request; f.mu is held.
func (f *fakeGitea) add(title, body, head, base string) map[string]any {
	m := loadFixture(f.t, "gitea/pull.json")
	n := len(f.pulls) + 7
	m["id"], m["number"] = 400+n, n
	m["title"], m["body"] = title, body
	web := fmt.Sprintf("%s/%s/%s/pulls/%d", f.webURL, f.owner, f.repo, n)
	m["url"], m["html_url"], m["diff_url"], m["patch_url"] = web, web, web+".diff", web+".patch"
	headInfo := m["head"].(map[string]any)
	headInfo["label"], headInfo["ref"] = head, head
	if sha, ok := f.heads(head); ok {
		headInfo["sha"] = sha
	}
	baseInfo := m["base"].(map[string]any)
	baseInfo["label"], baseInfo["ref"] = base, base
	f.pulls = append(f.pulls, m)
	return maps.Clone(m)
}

// seed adds n open pull requests of other branches, before any test
// request: they make the list span several pages.
func (f *fakeGitea) seed(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		f.add(fmt.Sprintf("Unrelated %d", i), "", fmt.Sprintf("feature/%d", i), "main")
	}
}
