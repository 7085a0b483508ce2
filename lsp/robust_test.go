package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// rawClient speaks framed JSON by hand, to send what a library would not.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	in   *bufio.Reader
}

func (r *rawClient) send(body string) {
	r.t.Helper()
	if _, err := fmt.Fprintf(r.conn, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		r.t.Fatal(err)
	}
}

// response reads messages until the response with id (a JSON literal,
// "null" for parse errors); server requests are answered with null.
func (r *rawClient) response(id string) map[string]json.RawMessage {
	r.t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(waitLimit))
	for {
		length := 0
		for {
			line, err := r.in.ReadString('\n')
			if err != nil {
				r.t.Fatalf("read: %v", err)
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r.in, body); err != nil {
			r.t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			r.t.Fatalf("server sent invalid JSON: %s", body)
		}
		if m["method"] != nil && m["id"] != nil {
			r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":null}`, m["id"]))
			continue
		}
		if m["method"] == nil && string(m["id"]) == id {
			return m
		}
	}
}

func errorCode(t *testing.T, m map[string]json.RawMessage) int {
	t.Helper()
	var e struct {
		Code int `json:"code"`
	}
	if err := json.Unmarshal(m["error"], &e); err != nil || m["error"] == nil {
		t.Fatalf("want an error response, got %v", m)
	}
	return e.Code
}

// blockingFixer lists fixes only when its context ends: a slow LLM.
type blockingFixer struct{}

func (blockingFixer) CodeActions(ctx context.Context, inc incident.Incident, doc Document) ([]Action, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (blockingFixer) Resolve(ctx context.Context, inc incident.Incident, doc Document, id string) ([]Edit, error) {
	return nil, nil
}
func (blockingFixer) OpenPR(ctx context.Context, inc incident.Incident) (string, error) {
	return "", nil
}

func TestMalformedInputAndCancel(t *testing.T) {
	root := loadWorkspace(t)
	eng := &fakeEngine{}
	eng.set(Result{Incidents: []incident.Incident{incIndex}}, nil)
	srv, cli := net.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(context.Background(), srv, Options{Engine: eng, Fixer: blockingFixer{}, PollInterval: time.Hour,
			Now: func() time.Time { return testNow }})
	}()
	r := &rawClient{t: t, conn: cli, in: bufio.NewReader(cli)}
	uri := pathToURI(root)
	cart := pathToURI(filepath.Join(root, "cart/cart.go"))
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootUri":%q,"capabilities":{}}}`, uri))
	r.response("1")
	r.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	r.send(`{"jsonrpc":"2.0","id":2,"method":"workspace/executeCommand","params":{"command":"faultline.refresh","arguments":[{}]}}`)
	r.response("2")

	r.send(`{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{`) // truncated JSON
	if code := errorCode(t, r.response("null")); code != -32700 {
		t.Errorf("malformed JSON: code %d, want -32700", code)
	}
	r.send(`[1,2,3]`)
	if code := errorCode(t, r.response("null")); code != -32600 && code != -32700 {
		t.Errorf("non-object message: code %d", code)
	}
	r.send(`{"jsonrpc":"2.0","id":4,"method":"faultline/unknown","params":{}}`)
	if code := errorCode(t, r.response("4")); code != -32601 {
		t.Errorf("unknown method: code %d, want -32601", code)
	}

	// A code action waiting on a slow fixer is cancelled by $/cancelRequest.
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":5,"method":"textDocument/codeAction","params":{"textDocument":{"uri":%q},"range":{"start":{"line":6,"character":0},"end":{"line":6,"character":0}},"context":{"diagnostics":[]}}}`, cart))
	r.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":5}}`)
	if code := errorCode(t, r.response("5")); code != -32800 {
		t.Errorf("cancelled request: code %d, want -32800 RequestCancelled", code)
	}

	// The server still answers.
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":6,"method":"textDocument/hover","params":{"textDocument":{"uri":%q},"position":{"line":6,"character":4}}}`, cart))
	if res := r.response("6"); !strings.Contains(string(res["result"]), "index out of range") {
		t.Errorf("hover after bad input = %s", res["result"])
	}
	r.send(`{"jsonrpc":"2.0","id":7,"method":"shutdown"}`)
	r.response("7")
	r.send(`{"jsonrpc":"2.0","id":8,"method":"textDocument/hover","params":{}}`)
	if code := errorCode(t, r.response("8")); code != -32600 {
		t.Errorf("request after shutdown: code %d, want -32600", code)
	}
	r.send(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v after exit", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Serve did not return after exit")
	}
}
