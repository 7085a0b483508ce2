package pullrequest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/faultline-dev/faultline/incident"
)

// scenario is testdata/scenario.txtar: the repository, the fix and the file
// expected at the pushed commit.
type scenario struct {
	repo  map[string]string
	fix   string
	stale string
	want  map[string]string
	inc   incident.Incident
}

func loadScenario(t testing.TB) scenario {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "scenario.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	sc := scenario{repo: map[string]string{}, want: map[string]string{}}
	for _, f := range ar.Files {
		switch {
		case strings.HasPrefix(f.Name, "repo/"):
			sc.repo[strings.TrimPrefix(f.Name, "repo/")] = string(f.Data)
		case strings.HasPrefix(f.Name, "want/"):
			sc.want[strings.TrimPrefix(f.Name, "want/")] = string(f.Data)
		case f.Name == "fix.diff":
			sc.fix = string(f.Data)
		case f.Name == "stale.diff":
			sc.stale = string(f.Data)
		}
	}
	data, err := os.ReadFile(filepath.Join("testdata", "incident.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &sc.inc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// gitEnv isolates test git commands from the machine's configuration.
func gitEnv(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com",
		"GIT_TERMINAL_PROMPT=0")
}

func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, errb.String())
	}
	return out.String()
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newWorkspace makes the user's repository: one commit of files on main,
// with a user identity in its config.
func newWorkspace(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q", "-b", "main")
	gitRun(t, dir, "config", "user.name", "Ada Lovelace")
	gitRun(t, dir, "config", "user.email", "ada@example.com")
	writeFiles(t, dir, files)
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "initial")
	return dir
}

// newBare makes root/<name> a bare repository holding the workspace's main.
func newBare(t testing.TB, root, name, ws string) string {
	t.Helper()
	bare := filepath.Join(root, filepath.FromSlash(name))
	gitRun(t, root, "init", "-q", "--bare", "-b", "main", bare)
	gitRun(t, bare, "config", "http.receivepack", "true")
	gitRun(t, ws, "push", "-q", bare, "main:main")
	return bare
}

// startDaemon serves root with `git daemon` on 127.0.0.1 and returns the
// git:// base URL.
func startDaemon(t *testing.T, root string) string {
	t.Helper()
	// Run git-daemon itself, not the `git daemon` wrapper: killing the
	// wrapper would leave the daemon running.
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	daemon := filepath.Join(strings.TrimSpace(string(execPath)), "git-daemon")
	if _, err := os.Stat(daemon); err != nil {
		t.Skip("git daemon is not installed")
	}
	port := freePort(t)
	cmd := exec.Command(daemon, "--reuseaddr", "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--base-path="+root, "--export-all", "--enable=receive-pack", root)
	cmd.Env = gitEnv(root)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start git daemon: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("git daemon did not listen on %s", addr)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "git://" + addr + "/"
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpGit serves root over smart HTTP with git-http-backend behind basic
// auth, recording every user/password pair it is offered.
type httpGit struct {
	URL        string
	user, pass string
	mu         sync.Mutex
	offered    []string // "user:password" per request that carried auth
}

func startHTTPGit(t *testing.T, root, user, pass string) *httpGit {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend is not installed")
	}
	h := &httpGit{user: user, pass: pass}
	cgiH := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok {
			h.mu.Lock()
			h.offered = append(h.offered, u+":"+p)
			h.mu.Unlock()
		}
		if !ok || u != h.user || p != h.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		cgiH.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/"
	return h
}

func (h *httpGit) credentials() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.offered...)
}
