package pullrequest

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeGitLab serves the GitLab REST v4 endpoints Open calls, answering
// with the documented shapes in testdata/gitlab: GET /projects/:id (the
// path URL-encoded), GET and POST /projects/:id/merge_requests. Like
// GitLab, it wants the token in the Private-Token header, refuses a merge
// request whose source branch was not pushed and answers 409 to a second
// open one for a branch.
type fakeGitLab struct {
	URL     string // web root; the API is under /api/v4
	log     forgeLog
	t       testing.TB
	token   string
	project string                             // path with namespace
	heads   func(branch string) (string, bool) // what was pushed
	webURL  string

	mu  sync.Mutex
	mrs []map[string]any
	// race makes the first POST lose to a concurrent Open: a merge
	// request for the branch appears, and the POST gets 409.
	race bool
}

func newFakeGitLab(t testing.TB, token, project string, heads func(string) (string, bool)) *fakeGitLab {
	f := &fakeGitLab{t: t, token: token, project: project, heads: heads, webURL: "https://gitlab.example.com"}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeGitLab) serve(w http.ResponseWriter, r *http.Request) {
	c := f.log.record(r)
	if r.Header.Get("Private-Token") != f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	rest, ok := strings.CutPrefix(c.Path, "/api/v4/projects/")
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	path, err := url.PathUnescape(id)
	if err != nil || path != f.project {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
		return
	}
	switch {
	case sub == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, f.projectJSON())
	case sub == "merge_requests" && r.Method == http.MethodGet:
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, f.list(q.Get("source_branch"), q.Get("state")))
	case sub == "merge_requests" && r.Method == http.MethodPost:
		f.create(w, c.Body)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
	}
}

func (f *fakeGitLab) projectJSON() map[string]any {
	m := loadFixture(f.t, "gitlab/project.json")
	name := f.project[strings.LastIndex(f.project, "/")+1:]
	m["path"], m["name"], m["path_with_namespace"] = name, name, f.project
	m["web_url"] = f.webURL + "/" + f.project
	m["http_url_to_repo"] = f.webURL + "/" + f.project + ".git"
	return m
}

func (f *fakeGitLab) list(source, state string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, mr := range f.mrs {
		if (source == "" || mr["source_branch"] == source) && (state == "" || state == "all" || mr["state"] == state) {
			out = append(out, maps.Clone(mr))
		}
	}
	return out
}

func (f *fakeGitLab) create(w http.ResponseWriter, body map[string]any) {
	src, dst := str(body, "source_branch"), str(body, "target_branch")
	if str(body, "title") == "" || src == "" || dst == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "title, source_branch, target_branch are missing"})
		return
	}
	if _, ok := f.heads(src); !ok {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": []string{fmt.Sprintf("Source branch %q does not exist", src)}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.race {
		f.race = false
		f.mrs = append(f.mrs, f.mr("Opened elsewhere", "", src, dst))
	}
	for _, mr := range f.mrs {
		if mr["source_branch"] == src && mr["state"] == "opened" {
			writeJSON(w, http.StatusConflict, map[string]any{"message": []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%v", mr["iid"])}})
			return
		}
	}
	mr := f.mr(str(body, "title"), str(body, "description"), src, dst)
	f.mrs = append(f.mrs, mr)
	writeJSON(w, http.StatusCreated, mr)
}

// mr builds the next merge request; f.mu is held.
func (f *fakeGitLab) mr(title, desc, src, dst string) map[string]any {
	m := loadFixture(f.t, "gitlab/merge_request.json")
	iid := len(f.mrs) + 1
	m["id"], m["iid"] = 98000+iid, iid
	m["title"], m["description"] = title, desc
	m["source_branch"], m["target_branch"] = src, dst
	m["web_url"] = fmt.Sprintf("%s/%s/-/merge_requests/%d", f.webURL, f.project, iid)
	ref := fmt.Sprintf("!%d", iid)
	m["reference"] = ref
	m["references"] = map[string]any{"short": ref, "relative": ref, "full": f.project + ref}
	if sha, ok := f.heads(src); ok {
		m["sha"] = sha
	}
	return m
}
