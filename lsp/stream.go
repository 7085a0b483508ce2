package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// stream frames LSP messages (Content-Length headers) like jsonrpc2.NewStream,
// with one difference the contract needs: a body that is not a valid
// JSON-RPC message is answered with a parse error (or invalid request) and
// reading goes on, instead of closing the connection. A broken header still
// ends the stream: past it the framing cannot be trusted.
type stream struct {
	conn io.ReadWriteCloser
	in   *bufio.Reader
	wmu  sync.Mutex
	log  func(format string, args ...any)
}

func newStream(conn io.ReadWriteCloser, log func(string, ...any)) *stream {
	return &stream{conn: conn, in: bufio.NewReader(conn), log: log}
}

// Read returns the next well-formed message.
func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		data, n, err := s.readFrame()
		if err != nil {
			return nil, n, err
		}
		msg, err := jsonrpc2.DecodeMessage(data)
		if err == nil {
			return msg, n, nil
		}
		code, text := jsonrpc2.ParseError, "JSON-RPC parse error"
		if json.Valid(data) {
			code, text = jsonrpc2.InvalidRequest, "JSON-RPC invalid request"
		}
		s.log("ignoring malformed message (%d bytes): %v", len(data), err)
		if werr := s.writeRaw(errorReply(code, fmt.Sprintf("%s: %v", text, err))); werr != nil {
			return nil, n, werr
		}
	}
}

func (s *stream) readFrame() ([]byte, int64, error) {
	var total, length int64
	for {
		line, err := s.in.ReadString('\n')
		total += int64(len(line))
		if err != nil {
			return nil, total, fmt.Errorf("read header: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			if length > 0 {
				break
			}
			continue // tolerate stray blank lines between messages
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, total, fmt.Errorf("invalid header line %q", line)
		}
		if strings.EqualFold(strings.TrimSpace(name), jsonrpc2.HdrContentLength) {
			length, err = strconv.ParseInt(strings.TrimSpace(value), 10, 32)
			if err != nil || length <= 0 {
				return nil, total, fmt.Errorf("invalid Content-Length %q", value)
			}
		}
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(s.in, data); err != nil {
		return nil, total, fmt.Errorf("read body: %w", err)
	}
	return data, total + length, nil
}

// Write sends one message.
func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("marshal message: %w", err)
	}
	return int64(len(data)), s.writeRaw(data)
}

func (s *stream) writeRaw(data []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := fmt.Fprintf(s.conn, "Content-Length: %d\r\n\r\n%s", len(data), data); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// Close closes the connection.
func (s *stream) Close() error { return s.conn.Close() }

func errorReply(code jsonrpc2.Code, message string) []byte {
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": message},
	})
	return b
}

// isClosed reports errors that mean the peer went away.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "closed")
}
