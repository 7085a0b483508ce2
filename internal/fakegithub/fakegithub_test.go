package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

const token = "test-token"

// runGit runs git in dir, isolated from the machine's configuration.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// fixture is a workspace whose main is pushed to a bare repository, with a
// local branch `fix` one commit ahead that is not pushed yet.
type fixtureRepo struct{ ws, bare string }

func newRepo(t *testing.T) fixtureRepo {
	t.Helper()
	root := t.TempDir()
	f := fixtureRepo{ws: filepath.Join(root, "ws"), bare: filepath.Join(root, "checkout.git")}
	runGit(t, root, "init", "-q", "--bare", "-b", "main", f.bare)
	runGit(t, root, "init", "-q", "-b", "main", f.ws)
	if err := os.WriteFile(filepath.Join(f.ws, "a.go"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, f.ws, "add", "-A")
	runGit(t, f.ws, "commit", "-q", "-m", "initial")
	runGit(t, f.ws, "push", "-q", f.bare, "main:main")
	runGit(t, f.ws, "checkout", "-q", "-b", "fix")
	if err := os.WriteFile(filepath.Join(f.ws, "a.go"), []byte("package a\n\n// fixed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, f.ws, "commit", "-q", "-am", "fix")
	return f
}

// start serves opt on 127.0.0.1 and returns a go-github client for it that
// sends clientToken.
func start(t *testing.T, opt Options, clientToken string) (*Server, *github.Client) {
	t.Helper()
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	gh, err := github.NewClient(nil).WithAuthToken(clientToken).WithEnterpriseURLs(hs.URL+"/api/v3/", hs.URL+"/api/v3/")
	if err != nil {
		t.Fatal(err)
	}
	return srv, gh
}

func status(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// TestPullRequestLifecycle walks what pullrequest.Open does: read the
// repository, look for an open pull request, create one (refused until the
// branch is pushed), then find it again instead of creating a second.
func TestPullRequestLifecycle(t *testing.T) {
	f := newRepo(t)
	record := filepath.Join(t.TempDir(), "requests.json")
	srv, gh := start(t, Options{Owner: "acme", Repo: "checkout", Token: token, Heads: BareRepo(f.bare), RecordFile: record}, token)
	ctx := context.Background()

	repo, _, err := gh.Repositories.Get(ctx, "acme", "checkout")
	if err != nil {
		t.Fatalf("get repository: %v", err)
	}
	if repo.GetFullName() != "acme/checkout" || repo.GetDefaultBranch() != "main" {
		t.Errorf("repository = %s, default branch %s", repo.GetFullName(), repo.GetDefaultBranch())
	}

	np := &github.NewPullRequest{Title: github.String("Guard the index"), Head: github.String("faultline/abc"),
		Base: github.String("main"), Body: github.String("incident abc")}
	if _, _, err := gh.PullRequests.Create(ctx, "acme", "checkout", np); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("create before the push: err = %v, want 422", err)
	}

	runGit(t, f.ws, "push", "-q", f.bare, "fix:refs/heads/faultline/abc")
	sha := runGit(t, f.ws, "rev-parse", "fix")
	pr, _, err := gh.PullRequests.Create(ctx, "acme", "checkout", np)
	if err != nil {
		t.Fatalf("create after the push: %v", err)
	}
	if pr.GetNumber() != 1 || pr.GetHead().GetSHA() != sha || pr.GetHead().GetRef() != "faultline/abc" ||
		pr.GetBase().GetRef() != "main" || pr.GetBody() != "incident abc" || pr.GetState() != "open" {
		t.Errorf("pull request = #%d head %s@%s base %s state %s body %q", pr.GetNumber(), pr.GetHead().GetRef(),
			pr.GetHead().GetSHA(), pr.GetBase().GetRef(), pr.GetState(), pr.GetBody())
	}
	if want := urlPrefix(t, pr.GetURL()) + "/acme/checkout/pull/1"; pr.GetHTMLURL() != want {
		t.Errorf("html_url = %s, want %s (the server's own root, as on GitHub Enterprise)", pr.GetHTMLURL(), want)
	}

	if _, _, err := gh.PullRequests.Create(ctx, "acme", "checkout", np); status(err) != http.StatusUnprocessableEntity ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: err = %v, want 422 already exists", err)
	}
	for _, tc := range []struct {
		head, state string
		want        int
	}{{"acme:faultline/abc", "open", 1}, {"acme:faultline/abc", "closed", 0}, {"acme:faultline/other", "open", 0}, {"", "all", 1}} {
		prs, _, err := gh.PullRequests.List(ctx, "acme", "checkout", &github.PullRequestListOptions{Head: tc.head, State: tc.state})
		if err != nil || len(prs) != tc.want {
			t.Errorf("list head=%q state=%q: %d pull requests, err %v; want %d", tc.head, tc.state, len(prs), err, tc.want)
		}
	}

	if n := len(srv.Calls("POST", "/repos/acme/checkout/pulls")); n != 3 {
		t.Errorf("recorded %d POSTs, want 3", n)
	}
	checkRecordFile(t, record, srv.Requests())
}

// urlPrefix returns scheme://host of u, a URL the server produced.
func urlPrefix(t *testing.T, u string) string {
	t.Helper()
	i := strings.Index(u, "/api/v3/")
	if i < 0 {
		t.Fatalf("API URL %s has no /api/v3/", u)
	}
	return u[:i]
}

// checkRecordFile asserts the file holds what the server recorded, bodies
// included, and never the token.
func checkRecordFile(t *testing.T, path string, want []Request) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(token)) {
		t.Errorf("record file holds the token:\n%s", data)
	}
	var got []Request
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("record file is not a JSON array of requests: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("record file has %d requests, server %d", len(got), len(want))
	}
	var statuses []int
	for i := range got {
		statuses = append(statuses, got[i].Status)
		if !got[i].Authorized {
			t.Errorf("request %d recorded as unauthorized", i)
		}
	}
	if want := []int{200, 422, 201, 422, 200, 200, 200, 200}; !slices.Equal(statuses, want) {
		t.Errorf("recorded statuses = %v, want %v", statuses, want)
	}
	var body struct{ Head, Body string }
	if err := json.Unmarshal(got[2].Body, &body); err != nil || body.Head != "faultline/abc" || body.Body != "incident abc" {
		t.Errorf("recorded POST body = %s (%v)", got[2].Body, err)
	}
}

// TestRefusals covers what GitHub refuses, each with the status go-github
// turns into an error the caller must explain.
func TestRefusals(t *testing.T) {
	f := newRepo(t)
	runGit(t, f.ws, "push", "-q", f.bare, "main:refs/heads/same-as-main")
	runGit(t, f.ws, "push", "-q", f.bare, "fix:refs/heads/pushed")
	tests := []struct {
		name   string
		token  string // the client's
		call   func(ctx context.Context, gh *github.Client) error
		status int
		want   string
	}{
		{"wrong token", "other", func(ctx context.Context, gh *github.Client) error {
			_, _, err := gh.Repositories.Get(ctx, "acme", "checkout")
			return err
		}, 401, "Bad credentials"},
		{"unknown repository", token, func(ctx context.Context, gh *github.Client) error {
			_, _, err := gh.Repositories.Get(ctx, "acme", "shop")
			return err
		}, 404, "Not Found"},
		{"head not pushed", token, create("never-pushed", "main"), 422, "Field:head Code:invalid"},
		{"base missing", token, create("pushed", "release"), 422, "Field:base Code:invalid"},
		{"head in another fork", token, create("someone:pushed", "main"), 422, "Field:head Code:invalid"},
		{"no commits between", token, create("same-as-main", "main"), 422, "No commits between main and same-as-main"},
		{"title missing", token, func(ctx context.Context, gh *github.Client) error {
			_, _, err := gh.PullRequests.Create(ctx, "acme", "checkout", &github.NewPullRequest{Head: github.String("pushed"), Base: github.String("main")})
			return err
		}, 422, "Field:title Code:missing_field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, gh := start(t, Options{Owner: "acme", Repo: "checkout", Token: token, Heads: BareRepo(f.bare)}, tc.token)
			err := tc.call(context.Background(), gh)
			if status(err) != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %d with %q", err, tc.status, tc.want)
			}
			if n := len(srv.listPulls("", "all")); n != 0 {
				t.Errorf("%d pull requests created", n)
			}
		})
	}
}

func create(head, base string) func(ctx context.Context, gh *github.Client) error {
	return func(ctx context.Context, gh *github.Client) error {
		_, _, err := gh.PullRequests.Create(ctx, "acme", "checkout",
			&github.NewPullRequest{Title: github.String("t"), Head: github.String(head), Base: github.String(base)})
		return err
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	heads := BareRepo(t.TempDir())
	for _, opt := range []Options{{Repo: "checkout", Heads: heads}, {Owner: "acme", Heads: heads},
		{Owner: "acme/x", Repo: "checkout", Heads: heads}, {Owner: "acme", Repo: "checkout"}} {
		if _, err := New(opt); err == nil {
			t.Errorf("New(%+v) accepted", opt)
		}
	}
}

func TestBareRepoReportsAnUnreadableRepository(t *testing.T) {
	_, ok, err := BareRepo(filepath.Join(t.TempDir(), "missing.git"))("main")
	if ok || err == nil || !strings.Contains(err.Error(), "open repository") {
		t.Errorf("ok %v, err %v; want an open repository error", ok, err)
	}
}
