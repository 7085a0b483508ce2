package pullrequest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

const testToken = "ghp_TESTtoken0123456789abcdefSECRET"

const incidentURL = "https://faultline.example/incidents/3f9a1c2e7b"

// userState is everything Open must leave alone in the user's repository.
func userState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"--no-optional-locks", "status", "--porcelain=v2", "--branch", "--untracked-files=all"},
		{"--no-optional-locks", "diff"},
		{"--no-optional-locks", "diff", "--cached"},
		{"ls-files", "--stage"},
		{"for-each-ref"},
		{"symbolic-ref", "HEAD"},
	} {
		for _, line := range strings.SplitAfter(gitRun(t, dir, args...), "\n") {
			if !strings.Contains(line, "refs/remotes/origin/faultline/") {
				b.WriteString(line)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "cart", "cart.go"))
	if err != nil {
		t.Fatal(err)
	}
	b.Write(data)
	return b.String()
}

// dirtyWorkspace gives the user uncommitted work: an unstaged edit of the
// very file the fix touches, and a staged new file.
func dirtyWorkspace(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "cart", "cart.go")
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append(data, []byte("\n// work in progress\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"notes.txt": "staged\n"})
	gitRun(t, dir, "add", "notes.txt")
}

func TestOpenPushesBranchAndOpensPullRequest(t *testing.T) {
	sc := loadScenario(t)
	transports := []struct {
		name string
		// serve exposes the bare repositories under root and returns the
		// remote URL of acme/shop.git, and a check run after the push.
		serve    func(t *testing.T, root string) (url string, after func(t *testing.T))
		override bool // owner/repo given in Options (the URL names no GitHub repo)
	}{
		{name: "file", override: true, serve: func(t *testing.T, root string) (string, func(*testing.T)) {
			return "file://" + filepath.Join(root, "acme", "shop.git"), nil
		}},
		{name: "git-daemon", override: true, serve: func(t *testing.T, root string) (string, func(*testing.T)) {
			return startDaemon(t, root) + "acme/shop.git", nil
		}},
		{name: "smart-http", serve: func(t *testing.T, root string) (string, func(*testing.T)) {
			h := startHTTPGit(t, root, "x-access-token", testToken)
			return h.URL + "acme/shop.git", func(t *testing.T) {
				creds := h.credentials()
				if len(creds) == 0 {
					t.Fatal("the git server saw no credentials")
				}
				for _, c := range creds {
					if c != "x-access-token:"+testToken {
						t.Errorf("git server got credentials %q, want the token as password of x-access-token", c)
					}
				}
			}
		}},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ws := newWorkspace(t, sc.repo)
			root := t.TempDir()
			bare := newBare(t, root, "acme/shop.git", ws)
			url, after := tr.serve(t, root)
			gitRun(t, ws, "remote", "add", "origin", url)
			head := strings.TrimSpace(gitRun(t, ws, "rev-parse", "HEAD"))
			dirtyWorkspace(t, ws)
			before := userState(t, ws)

			gh := newFakeGitHub(t, testToken, "acme", "shop", remoteBranch(t, bare))
			opt := Options{BaseURL: gh.URL, Token: testToken}
			if tr.override {
				opt.Owner, opt.Repo = "acme", "shop"
			}
			c, err := New(opt)
			if err != nil {
				t.Fatal(err)
			}
			var progress []string
			req := Request{Root: ws, Incident: sc.inc, IncidentURL: incidentURL,
				Fix: incident.Fix{Title: "Guard the division by zero", Diff: sc.fix, Validated: true, Source: "rule:go-divide-by-zero"}}
			res, err := c.Open(context.Background(), req, func(m string) { progress = append(progress, m) })
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			branch := "faultline/3f9a1c2e7b"
			if res.Branch != branch || res.Number != 1347 || res.Existing || res.URL != "https://github.com/acme/shop/pull/1347" {
				t.Errorf("result = %+v", res)
			}
			checkPushedCommit(t, bare, branch, head, sc)
			// Like `git push`, the push records the remote-tracking branch
			// (and keeps the commit reachable for the user to check out).
			if tracking, pushed := gitRun(t, ws, "rev-parse", "refs/remotes/origin/"+branch), gitRun(t, bare, "rev-parse", "refs/heads/"+branch); tracking != pushed {
				t.Errorf("remote-tracking ref = %s, pushed %s", tracking, pushed)
			}
			checkPullRequestPost(t, gh, branch, sc)
			if after != nil {
				after(t)
			}
			if got := userState(t, ws); got != before {
				t.Errorf("user's repository changed:\nbefore:\n%s\nafter:\n%s", before, got)
			}
			if len(progress) < 4 {
				t.Errorf("progress = %q, want a message per step", progress)
			}
			for _, m := range progress {
				if strings.Contains(m, testToken) {
					t.Errorf("progress message leaks the token: %q", m)
				}
			}

			// A second Open for the same incident finds the pull request
			// and pushes nothing.
			pushed := strings.TrimSpace(gitRun(t, bare, "rev-parse", "refs/heads/"+branch))
			again, err := c.Open(context.Background(), req, nil)
			if err != nil {
				t.Fatalf("second Open: %v", err)
			}
			if !again.Existing || again.Number != res.Number || again.URL != res.URL || again.Branch != branch {
				t.Errorf("second Open = %+v, want the existing #%d", again, res.Number)
			}
			if n := len(gh.calls("POST", "/pulls")); n != 1 {
				t.Errorf("%d POST /pulls, want 1", n)
			}
			if now := strings.TrimSpace(gitRun(t, bare, "rev-parse", "refs/heads/"+branch)); now != pushed {
				t.Errorf("second Open pushed again: branch moved %s -> %s", pushed, now)
			}
			if got := userState(t, ws); got != before {
				t.Error("user's repository changed by the second Open")
			}
		})
	}
}

// remoteBranch tells the fake GitHub whether a branch was pushed to bare.
func remoteBranch(t testing.TB, bare string) func(string) (string, bool) {
	return func(branch string) (string, bool) {
		out, err := gitOutput(bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch)
		return strings.TrimSpace(out), err == nil
	}
}

func checkPushedCommit(t *testing.T, bare, branch, head string, sc scenario) {
	t.Helper()
	sha := strings.TrimSpace(gitRun(t, bare, "rev-parse", "refs/heads/"+branch))
	if parent := strings.TrimSpace(gitRun(t, bare, "rev-parse", sha+"^")); parent != head {
		t.Errorf("parent of pushed commit = %s, want HEAD %s", parent, head)
	}
	for path, want := range sc.want {
		if got := gitRun(t, bare, "show", sha+":"+path); got != want {
			t.Errorf("%s at the pushed commit:\n%s\nwant:\n%s", path, got, want)
		}
	}
	if changed := strings.Fields(gitRun(t, bare, "diff", "--name-only", head, sha)); strings.Join(changed, ",") != "cart/cart.go" {
		t.Errorf("pushed commit changes %v, want only cart/cart.go", changed)
	}
	msg := gitRun(t, bare, "log", "-1", "--format=%B", sha)
	wantSubject := "fix: runtime error: integer divide by zero in cart/cart.go (faultline incident 3f9a1c2e7b)"
	if subj, _, _ := strings.Cut(msg, "\n"); subj != wantSubject {
		t.Errorf("commit subject = %q, want %q", subj, wantSubject)
	}
	for _, want := range []string{
		"Occurrences: 14 between 2026-11-20T10:42:01Z and 2026-11-20T11:05:13Z",
		"Deploy: v1.4.0 of checkout at 2026-11-20T10:39:00Z 1a2b3c4d5e6f",
		"Suspect commit: 1a2b3c4d5e6f cart: simplify Average (Dev <dev@example.com>)",
		"Traces: 4bf92f3577b34da6a3ce929d0e0e4736",
		"Root cause (confidence 82%): Average divides by the unit count",
		"Faultline-Incident: 3f9a1c2e7b",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	if strings.ContainsAny(msg, "\x1b\x07") {
		t.Errorf("commit message keeps control characters: %q", msg)
	}
	if author := strings.TrimSpace(gitRun(t, bare, "log", "-1", "--format=%an <%ae>", sha)); author != "Ada Lovelace <ada@example.com>" {
		t.Errorf("author = %q, want the user's git identity", author)
	}
}

func checkPullRequestPost(t *testing.T, gh *fakeGitHub, branch string, sc scenario) {
	t.Helper()
	posts := gh.calls("POST", "/repos/acme/shop/pulls")
	if len(posts) != 1 {
		t.Fatalf("%d POST /repos/acme/shop/pulls, want 1", len(posts))
	}
	p := posts[0].Body
	if p["title"] != "fix: runtime error: integer divide by zero in cart/cart.go (faultline incident 3f9a1c2e7b)" {
		t.Errorf("title = %q", p["title"])
	}
	if p["head"] != branch || p["base"] != "main" {
		t.Errorf("head/base = %v/%v, want %s/main", p["head"], p["base"], branch)
	}
	body, _ := p["body"].(string)
	for _, want := range []string{
		"### Incident", "**Occurrences:** 14 between", "**Suspect commit:** 1a2b3c4d5e6f",
		"### Root cause (confidence 82%)", "**Evidence**", "- **deploy:** v1.4.0 deployed", "**Location:** `cart/cart.go:16 cart.Average`",
		"```diff\n" + strings.TrimRight(sc.fix, "\n") + "\n```\n",
		"[View the incident in Faultline](" + incidentURL + ")",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, body)
		}
	}
	checkInert(t, body)
	if lists := gh.calls("GET", "/repos/acme/shop/pulls"); len(lists) == 0 || !strings.Contains(lists[0].Query, "head=acme%3A"+strings.ReplaceAll(branch, "/", "%2F")) {
		t.Errorf("no list of open pull requests by head acme:%s: %+v", branch, lists)
	}
}
