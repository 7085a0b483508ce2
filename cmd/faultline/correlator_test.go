package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store/pgtest"
	"github.com/faultline-dev/faultline/telemetry"
	"github.com/faultline-dev/faultline/telemetry/lokitest"
)

const testToken = "correlator-test-token"

// all incidents, not the API's default page of 500.
const allIncidents = "/?limit=100000"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// faultlineBinary builds the command once per test run: the restart and
// replica tests need real processes to kill.
func faultlineBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faultline-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "faultline")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// correlatorProc is a running `faultline correlator`.
type correlatorProc struct {
	cmd *exec.Cmd
	URL string
	log *strings.Builder
}

func startCorrelator(t *testing.T, args ...string) *correlatorProc {
	t.Helper()
	cmd := exec.Command(faultlineBinary(t), append([]string{"correlator", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "FAULTLINE_CORRELATOR_TOKEN="+testToken)
	p := &correlatorProc{cmd: cmd, log: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: p.log}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("correlator did not start: %v\n%s", err, p.log)
	}
	p.URL = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	go io.Copy(io.Discard, out)
	return p
}

// kill sends SIGKILL: no chance to finish a transaction or flush anything.
func (p *correlatorProc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// fetch reads incidents through the editor-side client.
func fetch(t *testing.T, url string) []incident.Incident {
	t.Helper()
	incs, _, _, err := telemetry.FetchIncidents(context.Background(), url+allIncidents, testToken, "")
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

// metric reads one counter from /metrics.
func metric(t *testing.T, url, name string) int {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// waitFor polls cond until it holds; the deadline only guards against a
// hang, it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPolls waits until a correlator has completed n more polls than now.
func waitPolls(t *testing.T, p *correlatorProc, n int) {
	t.Helper()
	target := metric(t, p.URL, "faultline_correlator_polls_total") + n + 1 // +1: the poll under way
	waitFor(t, "polls", func() bool { return metric(t, p.URL, "faultline_correlator_polls_total") >= target })
}

// TestCorrelatorMatchesCheck: an editor reading incidents through the
// correlator (which polled Loki) sees what `faultline check` reports on the
// same entries read from the file: ids, locations, counts, suspects.
func TestCorrelatorMatchesCheck(t *testing.T) {
	for _, name := range []string{"demo", "java-aioobe-caused-by", "go-nilmap-buildpath"} {
		t.Run(name, func(t *testing.T) {
			ms := makeScenario(t, name)
			dir, repo, logs, deploys := ms.dir, ms.repo, ms.logs, ms.deploys
			loki := lokitest.New()
			defer loki.Close()
			start, _ := pushFile(t, loki.URL, logs)
			want := checkJSON(t, "--repo", repo, "--logs", logs, "--deploys", deploys)
			p := startCorrelator(t, "--repo", repo, "--source", "loki:"+loki.URL, "--deploys", deploys,
				"--store", "sqlite:"+filepath.Join(dir, "c.db"), "--poll", "200ms", "--settle", "0",
				"--backfill", (time.Since(start) + time.Hour).Round(time.Hour).String())
			waitPolls(t, p, 2)
			got := fetch(t, p.URL)
			if len(want) == 0 {
				t.Fatal("check found no incidents")
			}
			if a, b := summary(want), summary(got); a != b {
				t.Errorf("correlator and check differ:\ncheck:\n%s\ncorrelator:\n%s\nlog:\n%s", a, b, p.log)
			}
			for _, inc := range got {
				if inc.RootCause == nil || len(inc.Frames) == 0 {
					t.Errorf("%s lacks the contract's root cause or frames", inc.ID)
				}
			}
		})
	}
}

// TestCorrelatorKillRestart kills the correlator with SIGKILL while it is
// storing a large first poll, restarts it on the same SQLite file, and
// checks that the result is exactly what check reports: nothing lost,
// nothing counted twice, also after further polls re-read everything.
func TestCorrelatorKillRestart(t *testing.T) {
	dir := t.TempDir()
	repo, logs := genCrashes(t, dir, 1500, 2, time.Now().Add(-6*time.Hour), time.Second)
	want := checkJSON(t, "--repo", repo, "--logs", logs)
	db := filepath.Join(dir, "c.db")
	args := []string{"--repo", repo, "--logs", logs, "--store", "sqlite:" + db, "--poll", "500ms"}

	p := startCorrelator(t, args...)
	var partial int
	waitFor(t, "a third of the incidents stored", func() bool {
		partial, _ = storeState(t, db)
		return partial > len(want)/3
	})
	p.kill()
	partial, done := storeState(t, db)
	t.Logf("killed with %d of %d incidents stored (cursor set: %v)", partial, len(want), done)
	if partial >= len(want) || done {
		t.Fatalf("the kill came after the ingest finished (%d of %d): grow the data set", partial, len(want))
	}

	p = startCorrelator(t, args...)
	waitFor(t, "a complete poll after the restart", func() bool { _, done := storeState(t, db); return done })
	if a, b := summary(want), summary(fetch(t, p.URL)); a != b {
		t.Fatalf("after restart the correlator differs from check:\n%s", firstDiff(a, b))
	}
	waitPolls(t, p, 2) // re-reads of the whole file must not count again
	if a, b := summary(want), summary(fetch(t, p.URL)); a != b {
		t.Fatalf("after re-polls the correlator differs from check:\n%s", firstDiff(a, b))
	}
}

// storeState reads the SQLite file directly: stored incidents and whether
// a poll completed (the cursor is written only then).
func storeState(t *testing.T, path string) (incidents int, pollDone bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.QueryRow(`SELECT COUNT(*) FROM incidents WHERE data <> ''`).Scan(&incidents) != nil {
		return 0, false
	}
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM cursors`).Scan(&n)
	return incidents, n > 0
}

// TestCorrelatorReplicasPostgres runs two correlators on one PostgreSQL,
// both polling the same Loki while it receives entries, and checks that
// neither counted an occurrence twice. The entries are recent (the last
// 90s), as an agent pushes them: the second half arrives after the first
// polls and is found by the overlap of the next windows.
func TestCorrelatorReplicasPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "replicas")
	dir := t.TempDir()
	repo, logs := genCrashes(t, dir, 200, 3, time.Now().Add(-90*time.Second), 100*time.Millisecond)
	want := checkJSON(t, "--repo", repo, "--logs", logs)
	first, second := splitFile(t, logs, dir)
	loki := lokitest.New()
	defer loki.Close()
	pushFile(t, loki.URL, first)
	args := []string{"--repo", repo, "--source", "loki:" + loki.URL, "--store", "postgres:" + dsn,
		"--poll", "100ms", "--settle", "0", "--backfill", "3h"}
	a := startCorrelator(t, args...)
	b := startCorrelator(t, args...)
	waitPolls(t, a, 1)
	pushFile(t, loki.URL, second)
	waitPolls(t, a, 2)
	waitPolls(t, b, 2)
	for _, p := range []*correlatorProc{a, b} {
		if x, y := summary(want), summary(fetch(t, p.URL)); x != y {
			t.Errorf("replica %s differs from check:\n%s\nlog:\n%s", p.URL, firstDiff(x, y), p.log)
		}
	}
	ingested := metric(t, a.URL, "faultline_correlator_occurrences_ingested_total") +
		metric(t, b.URL, "faultline_correlator_occurrences_ingested_total")
	total := 0
	for _, inc := range want {
		total += inc.Count
	}
	if ingested != total {
		t.Errorf("replicas ingested %d occurrences between them, want exactly %d", ingested, total)
	}
	t.Logf("replica A ingested %d, B %d of %d", metric(t, a.URL, "faultline_correlator_occurrences_ingested_total"),
		metric(t, b.URL, "faultline_correlator_occurrences_ingested_total"), total)
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d (of %d/%d):\n want %s\n got  %s", i, len(al), len(bl), x, y)
		}
	}
	return ""
}

// genCrashes writes a workspace with n Python handlers and a log file in
// which each crashes occ times (RuntimeError: no rule fixer applies, so
// check spends no time validating fixes) (a 4-line traceback, one entry per line, on
// three pods), starting at start, spacing apart. It returns the repo and log paths.
func genCrashes(t *testing.T, dir string, n, occ int, start time.Time, spacing time.Duration) (repo, logs string) {
	t.Helper()
	repo = filepath.Join(dir, "repo")
	var src strings.Builder
	for k := 0; k < n; k++ {
		fmt.Fprintf(&src, "def handler_%d(req):\n    raise RuntimeError(\"quota exceeded\")\n\n", k)
	}
	if err := os.MkdirAll(filepath.Join(repo, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "app", "handlers.py"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logs = filepath.Join(dir, "logs.jsonl")
	f, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	at := start.UTC().Truncate(time.Millisecond)
	for o := 0; o < occ; o++ {
		for k := 0; k < n; k++ {
			labels := map[string]string{"service": "api", "env": "prod", "pod": fmt.Sprintf("api-%d", k%3)}
			for i, line := range []string{
				"Traceback (most recent call last):",
				fmt.Sprintf(`  File "/srv/app/handlers.py", line %d, in handler_%d`, 3*k+2, k),
				`    raise RuntimeError("quota exceeded")`,
				"RuntimeError: quota exceeded",
			} {
				b, _ := json.Marshal(map[string]any{"labels": labels, "line": line, "timestamp": at.Add(time.Duration(i) * time.Millisecond)})
				w.Write(append(b, '\n'))
			}
			at = at.Add(spacing)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return repo, logs
}

// splitFile cuts a jsonl file in two halves at a line boundary.
func splitFile(t *testing.T, path, dir string) (first, second string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	half := len(lines) / 2
	half -= half % 4 // keep each 4-line traceback whole
	first, second = filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "second.jsonl")
	os.WriteFile(first, []byte(strings.Join(lines[:half], "")), 0o644)
	os.WriteFile(second, []byte(strings.Join(lines[half:], "")), 0o644)
	return first, second
}
