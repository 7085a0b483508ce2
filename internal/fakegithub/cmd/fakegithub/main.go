// Command fakegithub serves the fake GitHub REST API of package fakegithub
// on 127.0.0.1, for the editor end-to-end tests (editors/run-e2e.sh):
//
//	fakegithub -bare DIR -repo OWNER/NAME [-token T] [-record FILE] [-addr 127.0.0.1:0]
//
// Once it listens it prints one line to stdout, the REST base URL to put in
// .faultline.yaml (github.base_url), e.g. http://127.0.0.1:39111/api/v3/,
// and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/faultline-dev/faultline/internal/fakegithub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fakegithub:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakegithub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bare := fs.String("bare", "", "git repository the pull requests' branches are pushed to (required)")
	repo := fs.String("repo", "", "the repository it serves, OWNER/NAME (required)")
	token := fs.String("token", "", "token the requests must carry (default: any)")
	record := fs.String("record", "", "file rewritten with the JSON array of requests after each one")
	web := fs.String("web-url", "", "web root for html_url (default: this server's own root)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	owner, name, ok := strings.Cut(*repo, "/")
	if *bare == "" || !ok {
		fs.Usage()
		return errors.New("-bare and -repo OWNER/NAME are required")
	}
	if st, err := os.Stat(*bare); err != nil || !st.IsDir() {
		return fmt.Errorf("-bare %s: not a directory", *bare)
	}
	srv, err := fakegithub.New(fakegithub.Options{Owner: owner, Repo: name, Token: *token,
		Heads: fakegithub.BareRepo(*bare), WebURL: *web, RecordFile: *record})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "http://%s/api/v3/\n", ln.Addr())
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
