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
	"time"

	"go.lsp.dev/jsonrpc2"
)

// stream frames LSP messages (Content-Length headers) like jsonrpc2.NewStream,
// with one difference the contract needs: a body that is not a valid
// JSON-RPC message is answered with a parse error (or invalid request) and
// reading goes on, instead of closing the connection. A broken header still
// ends the stream: past it the framing cannot be trusted.
//
// Writes are queued and sent by one writer goroutine, so the read loop never
// blocks on a peer that is itself busy writing (over an unbuffered pipe two
// read loops that both reply would otherwise deadlock).
type stream struct {
	conn io.ReadWriteCloser
	in   *bufio.Reader
	log  func(format string, args ...any)

	mu      sync.Mutex
	cond    *sync.Cond
	queue   [][]byte
	closed  bool
	werr    error
	stopped chan struct{}
}

func newStream(conn io.ReadWriteCloser, log func(string, ...any)) *stream {
	s := &stream{conn: conn, in: bufio.NewReader(conn), log: log, stopped: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.writeLoop()
	return s
}

func (s *stream) writeLoop() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		data := s.queue[0]
		s.queue[0] = nil // let the message be collected once written
		s.queue = s.queue[1:]
		if len(s.queue) == 0 {
			s.queue = nil
		}
		s.mu.Unlock()
		if err := s.writeFrame(data); err != nil {
			s.mu.Lock()
			s.werr, s.closed, s.queue = err, true, nil
			s.mu.Unlock()
			return
		}
	}
}

func (s *stream) writeFrame(data []byte) error {
	var hdr [40]byte
	h := append(strconv.AppendInt(append(hdr[:0], "Content-Length: "...), int64(len(data)), 10), "\r\n\r\n"...)
	if _, err := s.conn.Write(h); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if _, err := s.conn.Write(data); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// Read returns the next well-formed message.
func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		data, n, err := s.readFrame()
		if errors.Is(err, errFrameTooLarge) {
			s.log("ignoring a message of more than %d bytes", maxFrame)
			if werr := s.writeRaw(errorReply(jsonrpc2.InvalidRequest, err.Error())); werr != nil {
				return nil, n, werr
			}
			continue
		}
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

// maxFrame bounds one message. A document of a few MiB is normal; hundreds
// of MiB in one message is an attack or a bug.
const maxFrame = 64 << 20

var errFrameTooLarge = errors.New("message too large")

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
	if length > maxFrame {
		// Skip the body rather than allocate it: one oversized message must
		// not take the server's memory, nor end the session.
		if _, err := io.CopyN(io.Discard, s.in, length); err != nil {
			return nil, total, fmt.Errorf("read body: %w", err)
		}
		return nil, total + length, fmt.Errorf("%w (%d bytes)", errFrameTooLarge, length)
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(s.in, data); err != nil {
		return nil, total, fmt.Errorf("read body: %w", err)
	}
	return data, total + length, nil
}

// Write sends one message.
func (s *stream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("marshal message: %w", err)
	}
	return int64(len(data)), s.writeRaw(data)
}

func (s *stream) writeRaw(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if s.werr != nil {
			return s.werr
		}
		return io.ErrClosedPipe
	}
	s.queue = append(s.queue, data)
	s.cond.Signal()
	return nil
}

// Close sends what is queued, then closes the connection.
func (s *stream) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.cond.Signal()
	s.mu.Unlock()
	if !already {
		select {
		case <-s.stopped:
		case <-time.After(time.Second): // a peer that stopped reading
		}
	}
	return s.conn.Close()
}

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
