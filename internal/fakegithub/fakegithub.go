// Package fakegithub is a stand-in for the few GitHub REST endpoints that
// opening a pull request needs, for tests and the editor end-to-end runs:
//
//	GET  /api/v3/repos/{owner}/{repo}
//	GET  /api/v3/repos/{owner}/{repo}/pulls?head=&state=
//	POST /api/v3/repos/{owner}/{repo}/pulls
//
// Answers use GitHub's documented response shapes (responses/*.json), so the
// real go-github client decodes them. Like GitHub, it refuses a pull request
// whose head or base branch is not in the git repository behind it (a bare
// repository the code under test pushes to), one with no commits between
// base and head, and a second open one for the same head. Every request is
// recorded, in memory and optionally to a JSON file, for assertions from
// other processes (the Node and Neovim tests).
package fakegithub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Options configures a Server.
type Options struct {
	// Owner and Repo name the one repository the server knows; other
	// repositories answer 404.
	Owner, Repo string
	// Token, when set, must come as "Authorization: Bearer <token>" (or
	// "token <token>"); anything else answers 401 Bad credentials.
	Token string
	// Heads looks branches up in the repository the pull requests are
	// about: BareRepo(path) for a bare repository on disk.
	Heads Heads
	// WebURL is the web root for html_url, e.g. https://github.com. Empty:
	// the server's own root (http://HOST/), as on GitHub Enterprise.
	WebURL string
	// FirstNumber is the number of the first pull request; 0 means 1.
	FirstNumber int
	// RecordFile, when set, is rewritten after each request with the JSON
	// array of all requests so far (see Request).
	RecordFile string
}

// Heads resolves a branch name to its commit in the repository behind the
// fake; ok is false when the branch does not exist.
type Heads func(branch string) (sha string, ok bool, err error)

// Request is one recorded request. The token itself is never recorded.
type Request struct {
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Query      string          `json:"query,omitempty"`
	Authorized bool            `json:"authorized"`
	Status     int             `json:"status"`
	Body       json.RawMessage `json:"body,omitempty"`
}

// Server is the fake; it is an http.Handler, safe for concurrent use.
type Server struct {
	opt Options

	mu       sync.Mutex
	requests []Request
	pulls    []map[string]any
}

// New returns a Server for opt. It does no I/O.
func New(opt Options) (*Server, error) {
	if opt.Owner == "" || opt.Repo == "" || strings.Contains(opt.Owner+opt.Repo, "/") {
		return nil, fmt.Errorf("fake GitHub needs an owner and a repository name, got %q/%q", opt.Owner, opt.Repo)
	}
	if opt.Heads == nil {
		return nil, fmt.Errorf("fake GitHub for %s/%s needs Heads to check pushed branches", opt.Owner, opt.Repo)
	}
	if opt.FirstNumber <= 0 {
		opt.FirstNumber = 1
	}
	return &Server{opt: opt}, nil
}

// maxBody bounds what a request body may hold; GitHub's limit is larger,
// a pull request body here is a few kilobytes.
const maxBody = 1 << 20

// ServeHTTP answers one REST call and records it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorized: s.authorized(r)}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxBody))
		if json.Valid(body) {
			rec.Body = body
		} else if len(body) > 0 {
			rec.Body, _ = json.Marshal(string(body))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status, answer := s.route(r, rec, body)
	rec.Status = status
	s.requests = append(s.requests, rec)
	// Recorded before answering: a client that got the answer finds its
	// request in the file.
	if s.opt.RecordFile != "" {
		if err := s.writeRecord(); err != nil {
			status, answer = http.StatusInternalServerError, apiError("fakegithub: "+err.Error(), "")
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opt.Token == "" {
		return true
	}
	a := r.Header.Get("Authorization")
	return a == "Bearer "+s.opt.Token || a == "token "+s.opt.Token
}

// route computes the answer to r: a status and the JSON value to send.
func (s *Server) route(r *http.Request, rec Request, body []byte) (int, any) {
	if !rec.Authorized {
		return http.StatusUnauthorized, apiError("Bad credentials", "https://docs.github.com/rest")
	}
	repoPath := "/api/v3/repos/" + s.opt.Owner + "/" + s.opt.Repo
	switch {
	case r.Method == http.MethodGet && r.URL.Path == repoPath:
		return http.StatusOK, s.repository(r)
	case r.Method == http.MethodGet && r.URL.Path == repoPath+"/pulls":
		return http.StatusOK, s.listPulls(r.URL.Query().Get("head"), r.URL.Query().Get("state"))
	case r.Method == http.MethodPost && r.URL.Path == repoPath+"/pulls":
		return s.createPull(r, body)
	case r.Method == http.MethodGet && r.URL.Path == repoPath+"/deployments":
		return http.StatusOK, []any{} // a repository that deploys by other means
	}
	return http.StatusNotFound, apiError("Not Found", "https://docs.github.com/rest")
}

// Requests returns a copy of every request so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls returns the recorded requests with method whose path ends in suffix.
func (s *Server) Calls(method, suffix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// writeRecord replaces RecordFile atomically, so a reader never sees half
// a file.
func (s *Server) writeRecord() error {
	data, err := json.MarshalIndent(s.requests, "", "  ")
	if err != nil {
		return fmt.Errorf("encode recorded requests: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.opt.RecordFile), ".fakegithub-*")
	if err != nil {
		return fmt.Errorf("record requests to %s: %w", s.opt.RecordFile, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("record requests to %s: %w", s.opt.RecordFile, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("record requests to %s: %w", s.opt.RecordFile, err)
	}
	if err := os.Rename(tmp.Name(), s.opt.RecordFile); err != nil {
		return fmt.Errorf("record requests to %s: %w", s.opt.RecordFile, err)
	}
	return nil
}

// apiError is GitHub's error body.
func apiError(message, doc string, errs ...map[string]any) map[string]any {
	m := map[string]any{"message": message, "documentation_url": doc}
	if len(errs) > 0 {
		m["errors"] = errs
	}
	return m
}
