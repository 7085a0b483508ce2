package fakegithub

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// responses holds GitHub's documented example answers; the server fills in
// the repository, numbers, branches and URLs.
//
//go:embed responses/*.json
var responses embed.FS

const createDoc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"

func fixture(name string) map[string]any {
	data, err := responses.ReadFile("responses/" + name)
	if err != nil {
		panic(fmt.Sprintf("embedded response %s: %v", name, err)) // a build defect, not input
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		panic(fmt.Sprintf("embedded response %s: %v", name, err))
	}
	return m
}

// urls returns the REST and web roots as the client sees this server.
func (s *Server) urls(r *http.Request) (api, web string) {
	root := "http://" + r.Host
	api = root + "/api/v3/repos/" + s.opt.Owner + "/" + s.opt.Repo
	web = strings.TrimSuffix(s.opt.WebURL, "/")
	if web == "" {
		web = root
	}
	return api, web + "/" + s.opt.Owner + "/" + s.opt.Repo
}

// repository answers GET /repos/{owner}/{repo}. The default branch is the
// repository's main, or master when only that exists.
func (s *Server) repository(r *http.Request) map[string]any {
	m := fixture("repo.json")
	api, web := s.urls(r)
	m["name"], m["full_name"] = s.opt.Repo, s.opt.Owner+"/"+s.opt.Repo
	m["url"], m["html_url"], m["pulls_url"] = api, web, api+"/pulls{/number}"
	m["clone_url"] = web + ".git"
	if owner, ok := m["owner"].(map[string]any); ok {
		owner["login"] = s.opt.Owner
	}
	if _, ok, _ := s.opt.Heads("main"); !ok {
		if _, ok, _ := s.opt.Heads("master"); ok {
			m["default_branch"] = "master"
		}
	}
	return m
}

// headLabel returns head as GitHub labels it (owner:branch) and the branch.
func (s *Server) headLabel(head string) (label, branch string) {
	if owner, b, ok := strings.Cut(head, ":"); ok {
		return owner + ":" + b, b
	}
	return s.opt.Owner + ":" + head, head
}

// listPulls answers GET /pulls: head filters by "owner:branch", state by
// open (GitHub's default), closed or all.
func (s *Server) listPulls(head, state string) []map[string]any {
	if state == "" {
		state = "open"
	}
	out := []map[string]any{}
	for _, pr := range s.pulls {
		if head != "" && label(pr) != head {
			continue
		}
		if state != "all" && pr["state"] != state {
			continue
		}
		out = append(out, pr)
	}
	return out
}

func label(pr map[string]any) string {
	h, _ := pr["head"].(map[string]any)
	l, _ := h["label"].(string)
	return l
}

// newPull is the body of POST /pulls.
type newPull struct {
	Title string `json:"title"`
	Head  string `json:"head"`
	Base  string `json:"base"`
	Body  string `json:"body"`
	Draft bool   `json:"draft"`
}

// createPull answers POST /pulls with GitHub's validation rules: title,
// head and base given; both branches pushed; commits between them; no open
// pull request for the same head.
func (s *Server) createPull(r *http.Request, body []byte) (int, any) {
	var in newPull
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, apiError("Problems parsing JSON", createDoc)
	}
	for _, f := range []struct{ name, v string }{{"title", in.Title}, {"head", in.Head}, {"base", in.Base}} {
		if strings.TrimSpace(f.v) == "" {
			return invalid(map[string]any{"resource": "PullRequest", "field": f.name, "code": "missing_field"})
		}
	}
	lbl, branch := s.headLabel(in.Head)
	if !strings.HasPrefix(lbl, s.opt.Owner+":") {
		return invalid(map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
	}
	headSHA, ok, err := s.opt.Heads(branch)
	if err != nil {
		return http.StatusInternalServerError, apiError("Server Error: "+err.Error(), createDoc)
	}
	if !ok {
		return invalid(map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
	}
	baseSHA, ok, err := s.opt.Heads(in.Base)
	if err != nil {
		return http.StatusInternalServerError, apiError("Server Error: "+err.Error(), createDoc)
	}
	if !ok {
		return invalid(map[string]any{"resource": "PullRequest", "field": "base", "code": "invalid"})
	}
	if headSHA == baseSHA {
		return invalid(map[string]any{"resource": "PullRequest", "code": "custom",
			"message": fmt.Sprintf("No commits between %s and %s", in.Base, branch)})
	}
	for _, pr := range s.pulls {
		if label(pr) == lbl && pr["state"] == "open" {
			return invalid(map[string]any{"resource": "PullRequest", "code": "custom",
				"message": "A pull request already exists for " + lbl + "."})
		}
	}
	pr := s.pull(r, in, lbl, branch, headSHA, baseSHA)
	s.pulls = append(s.pulls, pr)
	return http.StatusCreated, pr
}

func invalid(e map[string]any) (int, any) {
	return http.StatusUnprocessableEntity, apiError("Validation Failed", createDoc, e)
}

// pull builds the pull request object GitHub returns for in.
func (s *Server) pull(r *http.Request, in newPull, lbl, branch, headSHA, baseSHA string) map[string]any {
	pr := fixture("pull.json")
	n := s.opt.FirstNumber + len(s.pulls)
	api, web := s.urls(r)
	now := time.Now().UTC().Format(time.RFC3339)
	pr["id"], pr["number"] = n, n
	pr["url"] = fmt.Sprintf("%s/pulls/%d", api, n)
	pr["issue_url"] = fmt.Sprintf("%s/issues/%d", api, n)
	pr["html_url"] = fmt.Sprintf("%s/pull/%d", web, n)
	pr["diff_url"] = fmt.Sprintf("%s/pull/%d.diff", web, n)
	pr["patch_url"] = fmt.Sprintf("%s/pull/%d.patch", web, n)
	pr["title"], pr["body"], pr["draft"] = in.Title, in.Body, in.Draft
	pr["created_at"], pr["updated_at"] = now, now
	fill := func(side, ref, lbl, sha string) {
		m, _ := pr[side].(map[string]any)
		if m == nil {
			m = map[string]any{}
			pr[side] = m
		}
		m["ref"], m["label"], m["sha"] = ref, lbl, sha
		if u, ok := m["user"].(map[string]any); ok {
			u["login"] = s.opt.Owner
		}
		if repo, ok := m["repo"].(map[string]any); ok {
			repo["name"], repo["full_name"] = s.opt.Repo, s.opt.Owner+"/"+s.opt.Repo
		}
	}
	fill("head", branch, lbl, headSHA)
	fill("base", in.Base, s.opt.Owner+":"+in.Base, baseSHA)
	return pr
}
