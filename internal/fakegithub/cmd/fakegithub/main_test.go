package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunServesUntilCancelled starts the command as run-e2e.sh does, reads
// the URL it prints, calls it, and stops it.
func TestRunServesUntilCancelled(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "checkout.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", bare).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	record := filepath.Join(t.TempDir(), "requests.json")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-bare", bare, "-repo", "acme/checkout", "-token", "t0k", "-record", record}, pw, io.Discard)
		pw.Close()
	}()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read the printed URL: %v", err)
	}
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/api/v3/") {
		t.Fatalf("printed %q, want http://127.0.0.1:PORT/api/v3/", url)
	}
	req, _ := http.NewRequest("GET", url+"repos/acme/checkout", nil)
	req.Header.Set("Authorization", "Bearer t0k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var repo struct {
		FullName string `json:"full_name"`
	}
	err = json.NewDecoder(resp.Body).Decode(&repo)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || repo.FullName != "acme/checkout" {
		t.Errorf("GET repository: %d %+v %v", resp.StatusCode, repo, err)
	}
	if data, err := os.ReadFile(record); err != nil || !strings.Contains(string(data), `"path": "/api/v3/repos/acme/checkout"`) {
		t.Errorf("record file: %v\n%s", err, data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-repo", "acme/checkout"}, {"-bare", t.TempDir()}, {"-bare", t.TempDir(), "-repo", "checkout"},
		{"-bare", filepath.Join(t.TempDir(), "missing"), "-repo", "acme/checkout"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
