package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/protocol"
)

// pollWithProgress runs the first poll of a root inside a work-done
// progress, so the editor shows that production errors are being read.
// The create request is awaited here, on the poller goroutine: awaiting it
// on the read loop would deadlock.
func (s *server) pollWithProgress(ctx context.Context, r *root) {
	if !s.caps.workDoneProgress {
		s.poll(ctx, r)
		return
	}
	token := fmt.Sprintf("faultline/poll/%d", s.progSeq.Add(1))
	if _, err := s.conn.Call(ctx, protocol.MethodWorkDoneProgressCreate,
		map[string]string{"token": token}, nil); err != nil {
		s.log.printf("window/workDoneProgress/create: %v", err)
		s.poll(ctx, r)
		return
	}
	s.progress(ctx, token, protocol.WorkDoneProgressBegin{
		Kind:    protocol.WorkDoneProgressKindBegin,
		Title:   "Faultline",
		Message: "reading production errors for " + r.path,
	})
	n := s.poll(ctx, r)
	msg := fmt.Sprintf("%d incidents", n)
	if snap := r.snap.Load(); snap.stale {
		msg += " (stale: " + snap.message + ")"
	}
	s.progress(ctx, token, protocol.WorkDoneProgressEnd{Kind: protocol.WorkDoneProgressKindEnd, Message: msg})
}

func (s *server) progress(ctx context.Context, token string, value any) {
	if err := s.conn.Notify(ctx, protocol.MethodProgress, map[string]any{"token": token, "value": value}); err != nil {
		s.log.printf("$/progress: %v", err)
	}
}
