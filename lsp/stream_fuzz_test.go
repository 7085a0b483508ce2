package lsp

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// pipeConn is a ReadWriteCloser reading fixed input and discarding output.
type pipeConn struct {
	io.Reader
}

func (pipeConn) Write(p []byte) (int, error) { return len(p), nil }
func (pipeConn) Close() error                { return nil }

// FuzzStream: whatever bytes a client sends, the message decoder returns
// messages or errors; it never panics, hangs or allocates a declared but
// absent body.
func FuzzStream(f *testing.F) {
	for _, seed := range []string{
		"Content-Length: 52\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\r\n",
		"Content-Length: 5\r\n\r\n{oops",
		"Content-Length: 2147483647\r\n\r\n{}",
		"Content-Length: -1\r\n\r\n",
		"Content-Type: x\r\n\r\n",
		"\r\n\r\nContent-Length: 2\r\n\r\n{}",
		"garbage without headers",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newStream(pipeConn{bytes.NewReader(data)}, func(string, ...any) {})
		defer s.Close()
		for i := 0; i < 64; i++ {
			if _, _, err := s.Read(context.Background()); err != nil {
				return
			}
		}
	})
}
