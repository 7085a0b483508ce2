package pullrequest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// forgeLog records the requests a fake forge served, for assertions.
type forgeLog struct {
	mu    sync.Mutex
	calls []forgeCall
}

type forgeCall struct {
	Method, Path, Query string // Path as sent, still URL-escaped
	Body                map[string]any
}

// record reads the request's JSON body (if any) and logs the call.
func (l *forgeLog) record(r *http.Request) forgeCall {
	c := forgeCall{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery}
	if data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20)); len(data) > 0 {
		_ = json.Unmarshal(data, &c.Body) // a non-object body stays nil
	}
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
	return c
}

// find returns the calls with method whose escaped path ends in suffix.
func (l *forgeLog) find(method, suffix string) []forgeCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []forgeCall
	for _, c := range l.calls {
		if c.Method == method && strings.HasSuffix(c.Path, suffix) {
			out = append(out, c)
		}
	}
	return out
}

// loadFixture reads a documented response shape from testdata/.
func loadFixture(t testing.TB, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
