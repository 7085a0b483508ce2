package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Command names, declared once; initialize advertises this list.
const (
	cmdShowIncident  = "faultline.showIncident"
	cmdListIncidents = "faultline.listIncidents"
	cmdRefresh       = "faultline.refresh"
	cmdApplyFix      = "faultline.applyFix"
	cmdOpenPR        = "faultline.openPR"
	cmdExplainFrame  = "faultline.explainFrame"
	cmdPreviewPrompt = "faultline.previewPrompt"
	cmdSnooze        = "faultline.snooze"
)

// errNoFix is the contract's answer to applyFix when nothing can fix it.
var errNoFix = errors.New("no fix available for this incident")

// commandArgs is the one-element argument object of every command.
type commandArgs struct {
	ID      string `json:"id"`
	URI     string `json:"uri"`
	Version *int32 `json:"version"`
	Frame   int    `json:"frame"`
	Days    int    `json:"days"`
}

type commandFunc func(s *server, ctx context.Context, a commandArgs) (any, error)

var commands = []struct {
	name string
	run  commandFunc
}{
	{cmdShowIncident, (*server).showIncident},
	{cmdListIncidents, (*server).listIncidents},
	{cmdRefresh, (*server).refreshCommand},
	{cmdApplyFix, (*server).applyFix},
	{cmdOpenPR, (*server).openPR},
	{cmdExplainFrame, (*server).explainFrame},
	{cmdPreviewPrompt, (*server).previewPrompt},
	{cmdSnooze, (*server).snooze},
}

func commandNames() []string {
	out := make([]string, len(commands))
	for i, c := range commands {
		out[i] = c.name
	}
	return out
}

// executeCommand runs every command off the read loop: refresh waits for a
// poll, applyFix and openPR for the fixer and the client.
func (s *server) executeCommand(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p struct {
		Command   string            `json:"command"`
		Arguments []json.RawMessage `json:"arguments"`
	}
	if err := decode(params, &p); err != nil {
		return reply(ctx, nil, err)
	}
	var a commandArgs
	if len(p.Arguments) > 0 {
		if err := json.Unmarshal(p.Arguments[0], &a); err != nil {
			return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: invalid argument: %v", p.Command, err))
		}
	}
	for _, c := range commands {
		if c.name == p.Command {
			return s.async(ctx, reply, p.Command, func(ctx context.Context) (any, error) { return c.run(s, ctx, a) })
		}
	}
	return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", p.Command))
}

// find returns the incident with id in the current snapshots.
func (s *server) find(id string) (*entry, *root, error) {
	for _, r := range s.rootList() {
		if e := r.snap.Load().byID[id]; e != nil {
			return e, r, nil
		}
	}
	return nil, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no incident %q", id)
}

func (s *server) showIncident(ctx context.Context, a commandArgs) (any, error) {
	e, r, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": e.inc.ID, "markdown": s.incidentMarkdown(r.path, e.inc)}, nil
}

type listedIncident struct {
	ID           string `json:"id"`
	URI          string `json:"uri"`
	Line         int    `json:"line"`
	Character    int    `json:"character"`
	EndCharacter int    `json:"endCharacter"`
	Message      string `json:"message"`
	Severity     int    `json:"severity"`
	Service      string `json:"service"`
	Env          string `json:"env"`
	Count        int    `json:"count"`
}

func (s *server) listIncidents(ctx context.Context, a commandArgs) (any, error) {
	out := []listedIncident{}
	done := map[string]bool{}
	for _, r := range s.rootList() {
		for _, e := range r.snap.Load().order {
			if done[e.path] {
				continue
			}
			done[e.path] = true
			list, doc := s.placedIn(e.path)
			for _, pl := range list {
				d := s.diagnostic(pl)
				uri := pl.uri
				if doc != nil {
					uri = doc.uri
				}
				out = append(out, listedIncident{ID: pl.inc.ID, URI: uri, Line: pl.line, Character: pl.indent,
					EndCharacter: pl.end, Message: d.Message, Severity: int(d.Severity),
					Service: pl.inc.Service, Env: pl.inc.Env, Count: pl.inc.Count})
			}
		}
	}
	return out, nil
}

func (s *server) refreshCommand(ctx context.Context, a commandArgs) (any, error) {
	n, err := s.refreshAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return map[string]int{"incidents": n}, nil
}

func (s *server) explainFrame(ctx context.Context, a commandArgs) (any, error) {
	e, r, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	if a.Frame < 0 || a.Frame >= len(e.inc.Frames) {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "incident %s has %d frames, no frame %d", a.ID, len(e.inc.Frames), a.Frame)
	}
	f := e.inc.Frames[a.Frame]
	md := fmt.Sprintf("**Frame %d of %d** of `%s`\n\n%s\n\nAs printed in production: `%s:%d`",
		a.Frame+1, len(e.inc.Frames), e.inc.ID, frameMarkdown(r.path, f), f.OriginalPath, f.OriginalLine)
	if f.LineStatus != "" {
		md += fmt.Sprintf("\n\nLine carried to HEAD: %s", f.LineStatus)
	}
	if s.opt.Explain != nil {
		md += "\n\n" + s.opt.Explain(r.path, r.config(), *e.inc, a.Frame)
	}
	return map[string]string{"markdown": md}, nil
}

func (s *server) openPR(ctx context.Context, a commandArgs) (any, error) {
	e, _, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	if s.opt.Fixer == nil {
		return nil, errors.New("pull requests are not available: no fixer is configured")
	}
	// Pushing and opening take seconds: show it while it works.
	token := ""
	if s.caps.workDoneProgress {
		token = fmt.Sprintf("faultline/openpr/%d", s.progSeq.Add(1))
		if _, err := s.conn.Call(ctx, protocol.MethodWorkDoneProgressCreate, map[string]string{"token": token}, nil); err != nil {
			token = ""
		} else {
			s.progress(ctx, token, protocol.WorkDoneProgressBegin{Kind: protocol.WorkDoneProgressKindBegin,
				Title: "Faultline", Message: "opening a pull request for " + a.ID})
		}
	}
	url, err := s.opt.Fixer.OpenPR(ctx, *e.inc)
	if token != "" {
		msg := url
		if err != nil {
			msg = "failed"
		}
		s.progress(ctx, token, protocol.WorkDoneProgressEnd{Kind: protocol.WorkDoneProgressKindEnd, Message: msg})
	}
	if err != nil {
		return nil, fmt.Errorf("open pull request for %s: %w", a.ID, err)
	}
	var shown struct {
		Success bool `json:"success"`
	}
	if _, err := s.conn.Call(ctx, protocol.MethodShowDocument, map[string]any{"uri": url, "external": true}, &shown); err != nil {
		s.log.printf("window/showDocument %s: %v", url, err)
	}
	return map[string]string{"url": url}, nil
}

// previewPrompt shows the exact prompt the LLM fixer would send for an
// incident (after redaction), so a user can check it before enabling
// llm.send_code. Nothing is sent.
func (s *server) previewPrompt(ctx context.Context, a commandArgs) (any, error) {
	e, r, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	if s.opt.PreviewPrompt == nil {
		return nil, errors.New("no LLM fixer is available in this server")
	}
	text, err := s.opt.PreviewPrompt(r.path, r.config(), *e.inc)
	if err != nil {
		return nil, fmt.Errorf("preview the prompt for %s: %w", a.ID, err)
	}
	return map[string]string{"markdown": "```text\n" + strings.ReplaceAll(text, "```", "` ` `") + "\n```"}, nil
}

// snoozeDays is how long the "Snooze this incident" action hides one.
const snoozeDays = 7

// snooze writes a snooze rule for an incident into the repository's
// .faultline/ignore (a change the user can review and commit) and polls
// again so the diagnostic goes away.
func (s *server) snooze(ctx context.Context, a commandArgs) (any, error) {
	e, r, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	if s.opt.Snooze == nil {
		return nil, errors.New("snoozing is not available in this server")
	}
	days := a.Days
	if days <= 0 {
		days = snoozeDays
	}
	until := s.now().Add(time.Duration(days) * 24 * time.Hour)
	if err := s.opt.Snooze(r.path, *e.inc, until); err != nil {
		return nil, fmt.Errorf("snooze %s: %w", a.ID, err)
	}
	answer := make(chan int, 1)
	select {
	case r.refresh <- answer:
		select {
		case <-answer:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	return map[string]string{"id": a.ID, "until": until.UTC().Format(time.RFC3339)}, nil
}
