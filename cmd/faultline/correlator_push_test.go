package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// agentBatches reads a jsonl log file into push requests of at most n
// entries, streams grouped as Promtail groups them, in file order.
func agentBatches(t *testing.T, path string, n int) []*push.PushRequest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*push.PushRequest
	var cur *push.PushRequest
	index := map[string]int{}
	count := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Labels    map[string]string `json:"labels"`
			Line      string            `json:"line"`
			Timestamp time.Time         `json:"timestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if cur == nil || count == n {
			cur, count, index = &push.PushRequest{}, 0, map[string]int{}
			out = append(out, cur)
		}
		key := promLabels(e.Labels)
		i, ok := index[key]
		if !ok {
			i = len(cur.Streams)
			index[key] = i
			cur.Streams = append(cur.Streams, push.Stream{Labels: key})
		}
		cur.Streams[i].Entries = append(cur.Streams[i].Entries, push.Entry{Timestamp: e.Timestamp, Line: e.Line})
		count++
	}
	return out
}

// pushBatch sends one batch as Promtail does and reports the status.
func pushBatch(t *testing.T, url string, req *push.PushRequest) int {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest(http.MethodPost, url+"/loki/api/v1/push", bytes.NewReader(snappy.Encode(nil, raw)))
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// storedPushed counts the pushed entries in the SQLite file.
func storedPushed(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pushed_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCorrelatorPushKillRestart pushes a scenario's logs as an agent
// would, SIGKILLs the correlator right after an acknowledged push (twice),
// restarts it on the same store, re-sends a batch, and checks that the
// incidents are exactly what `faultline check` reports on the same logs:
// nothing acknowledged lost, nothing counted twice.
func TestCorrelatorPushKillRestart(t *testing.T) {
	ms := makeScenario(t, "demo")
	dir, repo, logs, deploys := ms.dir, ms.repo, ms.logs, ms.deploys
	want := checkJSON(t, "--repo", repo, "--logs", logs, "--deploys", deploys)
	if len(want) == 0 {
		t.Fatal("check found no incidents")
	}
	empty := filepath.Join(dir, "none.jsonl")
	os.WriteFile(empty, nil, 0o644)
	db := filepath.Join(dir, "c.db")
	args := []string{"--repo", repo, "--logs", empty, "--deploys", deploys, "--store", "sqlite:" + db, "--poll", "200ms"}

	batches := agentBatches(t, logs, 30)
	thirds := []int{len(batches) / 3, 2 * len(batches) / 3, len(batches)}
	next := 0
	acked := map[string]bool{} // distinct non-blank entries, as stored
	var p *correlatorProc
	for round, end := range thirds {
		p = startCorrelator(t, args...)
		for ; next < end; next++ {
			if code := pushBatch(t, p.URL, batches[next]); code != http.StatusNoContent {
				t.Fatalf("push %d answered %d\n%s", next, code, p.log)
			}
			for _, st := range batches[next].Streams {
				for _, e := range st.Entries {
					if strings.TrimSpace(e.Line) != "" {
						acked[st.Labels+"\x00"+e.Timestamp.String()+"\x00"+e.Line] = true
					}
				}
			}
		}
		if round == len(thirds)-1 {
			// The agent timed out on the last batch and sends it again.
			if code := pushBatch(t, p.URL, batches[len(batches)-1]); code != http.StatusNoContent {
				t.Fatalf("re-send answered %d", code)
			}
			waitFor(t, "the pushed incidents", func() bool { return summary(fetch(t, p.URL)) == summary(want) })
			break
		}
		p.kill() // right after the last 204
		if n := storedPushed(t, db); n != len(acked) {
			t.Fatalf("after kill %d: %d entries stored, %d acknowledged", round, n, len(acked))
		}
	}
	// A further restart replays nothing twice.
	p.kill()
	p = startCorrelator(t, args...)
	waitPolls(t, p, 1)
	if a, b := summary(want), summary(fetch(t, p.URL)); a != b {
		t.Fatalf("after the restarts the correlator differs from check:\n%s", firstDiff(a, b))
	}
}
