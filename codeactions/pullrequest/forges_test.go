package pullrequest

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

const (
	gitlabTestToken = "glpat-TESTtoken0123456789SECRET"
	giteaTestToken  = "gitea0123456789abcdefTESTSECRET"
)

// clearTokenEnv keeps the machine's tokens out of a test.
func clearTokenEnv(t *testing.T) {
	t.Helper()
	for _, list := range [][]string{tokenEnv, gitlabTokenEnv, giteaTokenEnv} {
		for _, k := range list {
			t.Setenv(k, "")
		}
	}
}

// forgeCase is one forge as the shared tests drive it: where its
// repository lives, a fake of its API, and what its requests look like.
type forgeCase struct {
	name     string
	kind     string
	repoPath string // path of the bare repository under the git root
	pushUser string // the user name the forge's https push convention sends
	token    string
	// start serves the forge's API; heads reports what was pushed.
	start func(t *testing.T, heads func(string) (string, bool)) forgeFake
	// options configures a Client for the fake at apiURL.
	options func(apiURL string) Options
	// override names the repository in Options (a file:// remote names none).
	override func(o *Options)
	noun     string
	wantURL  string // the created change's web URL
	wantNum  int
}

// forgeFake is what the shared tests need of a fake forge.
type forgeFake interface {
	url() string
	calls(method, suffix string) []forgeCall
	// created is the POST that opened the change: title, source, target, body.
	created(t *testing.T) (title, head, base, body string)
	listQuery(t *testing.T) url.Values
	setRace()
}

func (f *fakeGitLab) url() string                             { return f.URL }
func (f *fakeGitLab) calls(method, suffix string) []forgeCall { return f.log.find(method, suffix) }
func (f *fakeGitLab) setRace()                                { f.mu.Lock(); f.race = true; f.mu.Unlock() }
func (f *fakeGitLab) created(t *testing.T) (string, string, string, string) {
	posts := f.calls("POST", "/merge_requests")
	if len(posts) != 1 {
		t.Fatalf("%d POST .../merge_requests, want 1", len(posts))
	}
	b := posts[0].Body
	return str(b, "title"), str(b, "source_branch"), str(b, "target_branch"), str(b, "description")
}
func (f *fakeGitLab) listQuery(t *testing.T) url.Values {
	lists := f.calls("GET", "/merge_requests")
	if len(lists) == 0 {
		t.Fatal("no list of merge requests")
	}
	q, _ := url.ParseQuery(lists[0].Query)
	return q
}

func (f *fakeGitea) url() string                             { return f.URL }
func (f *fakeGitea) calls(method, suffix string) []forgeCall { return f.log.find(method, suffix) }
func (f *fakeGitea) setRace()                                { f.mu.Lock(); f.race = true; f.mu.Unlock() }
func (f *fakeGitea) created(t *testing.T) (string, string, string, string) {
	posts := f.calls("POST", "/pulls")
	if len(posts) != 1 {
		t.Fatalf("%d POST .../pulls, want 1", len(posts))
	}
	b := posts[0].Body
	return str(b, "title"), str(b, "head"), str(b, "base"), str(b, "body")
}
func (f *fakeGitea) listQuery(t *testing.T) url.Values {
	lists := f.calls("GET", "/pulls")
	if len(lists) == 0 {
		t.Fatal("no list of pull requests")
	}
	q, _ := url.ParseQuery(lists[0].Query)
	return q
}

func forgeCases() []forgeCase {
	return []forgeCase{
		{
			name: "gitlab", kind: KindGitLab, repoPath: "acme/platform/shop.git", pushUser: "oauth2", token: gitlabTestToken,
			start: func(t *testing.T, heads func(string) (string, bool)) forgeFake {
				return newFakeGitLab(t, gitlabTestToken, "acme/platform/shop", heads)
			},
			options:  func(api string) Options { return Options{GitLabURL: api, GitLabToken: gitlabTestToken} },
			override: func(o *Options) { o.Owner, o.Repo = "acme/platform", "shop" },
			noun:     "merge request",
			wantURL:  "https://gitlab.example.com/acme/platform/shop/-/merge_requests/1", wantNum: 1,
		},
		{
			name: "gitea", kind: KindGitea, repoPath: "acme/shop.git", pushUser: "faultline", token: giteaTestToken,
			start: func(t *testing.T, heads func(string) (string, bool)) forgeFake {
				return newFakeGitea(t, giteaTestToken, "acme", "shop", heads)
			},
			options:  func(api string) Options { return Options{GiteaURL: api, GiteaToken: giteaTestToken} },
			override: func(o *Options) { o.Owner, o.Repo = "acme", "shop" },
			noun:     "pull request",
			wantURL:  "https://git.example.com/acme/shop/pulls/7", wantNum: 7,
		},
	}
}

// forgeSetup is a workspace whose origin is a bare repository served over
// file:// or smart HTTP, and a fake forge for it.
type forgeSetup struct {
	ws, bare string
	fake     forgeFake
	client   *Client
	req      Request
	git      *httpGit // nil over file://
}

func newForgeSetup(t *testing.T, sc scenario, fc forgeCase, transport string) *forgeSetup {
	t.Helper()
	clearTokenEnv(t)
	s := &forgeSetup{ws: newWorkspace(t, sc.repo)}
	root := t.TempDir()
	s.bare = newBare(t, root, fc.repoPath, s.ws)
	s.fake = fc.start(t, remoteBranch(t, s.bare))
	opt := fc.options(s.fake.url())
	switch transport {
	case "file":
		gitRun(t, s.ws, "remote", "add", "origin", "file://"+filepath.Join(root, filepath.FromSlash(fc.repoPath)))
		fc.override(&opt)
	case "smart-http":
		// The git server shares the API's host (127.0.0.1), so the token
		// goes with the push; it accepts only the forge's convention.
		s.git = startHTTPGit(t, root, fc.pushUser, fc.token)
		gitRun(t, s.ws, "remote", "add", "origin", s.git.URL+fc.repoPath)
	}
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	s.req = Request{Root: s.ws, Incident: sc.inc, IncidentURL: incidentURL,
		Fix: incident.Fix{Title: "Guard the division by zero", Diff: sc.fix, Validated: true, Source: "rule:go-divide-by-zero"}}
	return s
}

func TestOpenOnGitLabAndGitea(t *testing.T) {
	sc := loadScenario(t)
	const branch = "faultline/3f9a1c2e7b"
	for _, fc := range forgeCases() {
		for _, transport := range []string{"file", "smart-http"} {
			t.Run(fc.name+"/"+transport, func(t *testing.T) {
				s := newForgeSetup(t, sc, fc, transport)
				head := strings.TrimSpace(gitRun(t, s.ws, "rev-parse", "HEAD"))
				dirtyWorkspace(t, s.ws)
				before := userState(t, s.ws)

				var progress []string
				res, err := s.client.Open(context.Background(), s.req, func(m string) { progress = append(progress, m) })
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				want := Result{URL: fc.wantURL, Number: fc.wantNum, Branch: branch, Forge: fc.kind}
				if res != want {
					t.Errorf("result = %+v, want %+v", res, want)
				}
				checkPushedCommit(t, s.bare, branch, head, sc)
				checkChangeRequest(t, s.fake, fc, sc, branch)
				if s.git != nil {
					creds := s.git.credentials()
					if len(creds) == 0 {
						t.Fatal("the git server saw no credentials")
					}
					for _, c := range creds {
						if c != fc.pushUser+":"+fc.token {
							t.Errorf("git server got %q, want the token as password of %q", c, fc.pushUser)
						}
					}
				}
				if got := userState(t, s.ws); got != before {
					t.Errorf("user's repository changed:\nbefore:\n%s\nafter:\n%s", before, got)
				}
				for _, m := range progress {
					if strings.Contains(m, fc.token) {
						t.Errorf("progress leaks the token: %q", m)
					}
				}
				if len(progress) < 4 || !strings.Contains(strings.Join(progress, "\n"), "Opening the "+fc.noun) {
					t.Errorf("progress = %q, want a message per step naming the %s", progress, fc.noun)
				}

				// A second Open finds the change and pushes nothing.
				pushed := strings.TrimSpace(gitRun(t, s.bare, "rev-parse", "refs/heads/"+branch))
				again, err := s.client.Open(context.Background(), s.req, nil)
				if err != nil {
					t.Fatalf("second Open: %v", err)
				}
				want.Existing = true
				if again != want {
					t.Errorf("second Open = %+v, want %+v", again, want)
				}
				if n := len(s.fake.calls("POST", "")); n != 1 {
					t.Errorf("%d POSTs to the forge, want 1", n)
				}
				if now := strings.TrimSpace(gitRun(t, s.bare, "rev-parse", "refs/heads/"+branch)); now != pushed {
					t.Errorf("second Open pushed again: %s -> %s", pushed, now)
				}
				if got := userState(t, s.ws); got != before {
					t.Error("user's repository changed by the second Open")
				}
			})
		}
	}
}

// checkChangeRequest checks what was sent to open the change request and
// how the existing one was looked up.
func checkChangeRequest(t *testing.T, fake forgeFake, fc forgeCase, sc scenario, branch string) {
	t.Helper()
	title, head, base, body := fake.created(t)
	if title != "fix: runtime error: integer divide by zero in cart/cart.go (faultline incident 3f9a1c2e7b)" {
		t.Errorf("title = %q", title)
	}
	if head != branch || base != "main" {
		t.Errorf("source/target = %q/%q, want %s/main", head, base, branch)
	}
	for _, want := range []string{
		"Faultline opened this " + fc.noun + " for production incident `3f9a1c2e7b`",
		"### Incident", "**Suspect commit:** 1a2b3c4d5e6f", "### Root cause (confidence 82%)",
		"```diff\n" + strings.TrimRight(sc.fix, "\n") + "\n```\n",
		"[View the incident in Faultline](" + incidentURL + ")",
		"<!-- faultline-incident: 3f9a1c2e7b -->",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	checkInert(t, body)
	if strings.Contains(body, fc.token) {
		t.Error("body contains the token")
	}
	q := fake.listQuery(t)
	switch fc.kind {
	case KindGitLab:
		if q.Get("source_branch") != branch || q.Get("state") != "opened" {
			t.Errorf("merge requests listed with %v, want source_branch=%s&state=opened", q, branch)
		}
		if gets := fake.calls("GET", "/api/v4/projects/acme%2Fplatform%2Fshop"); len(gets) == 0 {
			t.Error("project not read by its URL-encoded path")
		}
	case KindGitea:
		if q.Get("state") != "open" {
			t.Errorf("pull requests listed with %v, want state=open", q)
		}
		if gets := fake.calls("GET", "/api/v1/version"); len(gets) != 1 {
			t.Errorf("%d GET /api/v1/version, want 1 (read once, then reused)", len(gets))
		}
	}
}

// TestOpenReturnsChangeOpenedConcurrently: when the forge answers that a
// change already exists for the branch (409), Open returns that one.
func TestOpenReturnsChangeOpenedConcurrently(t *testing.T) {
	sc := loadScenario(t)
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			s := newForgeSetup(t, sc, fc, "file")
			s.fake.setRace()
			res, err := s.client.Open(context.Background(), s.req, nil)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !res.Existing || res.Number != fc.wantNum || res.URL != fc.wantURL {
				t.Errorf("result = %+v, want the concurrently opened %s %d", res, fc.noun, fc.wantNum)
			}
		})
	}
}

// TestGiteaFindsExistingPullOnLaterPage: Gitea cannot filter pull requests
// by head branch, so Open pages through them.
func TestGiteaFindsExistingPullOnLaterPage(t *testing.T) {
	sc := loadScenario(t)
	fc := forgeCases()[1]
	s := newForgeSetup(t, sc, fc, "file")
	first, err := s.client.Open(context.Background(), s.req, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.fake.(*fakeGitea).seed(120) // newer pull requests push ours to page 3
	again, err := s.client.Open(context.Background(), s.req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.Number != first.Number {
		t.Errorf("second Open = %+v, want the existing #%d", again, first.Number)
	}
	if n := len(s.fake.calls("POST", "/pulls")); n != 1 {
		t.Errorf("%d POST /pulls, want 1", n)
	}
	if pages := len(s.fake.calls("GET", "/pulls")); pages < 4 {
		t.Errorf("%d list requests, want the first Open's and three pages", pages)
	}
}
