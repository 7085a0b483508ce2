package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/config"
)

// placed is an entry at its current position in the editor's view of the
// file: the open document's lines when open, else the file on disk.
type placed struct {
	*entry
	root        *root
	line        int // 0-based, current
	indent, end int // UTF-16 columns of the statement on the current line
	fnLine      int
}

// placedIn returns the entries of path at their current lines, across
// roots, in a stable order. Entries on deleted lines are left out.
func (s *server) placedIn(path string) (out []placed, doc *document) {
	doc = s.docs.get(path)
	for _, r := range s.rootList() {
		snap := r.snap.Load()
		for _, e := range snap.byFile[path] {
			p := placed{entry: e, root: r, line: e.line, indent: e.indent, end: e.end, fnLine: e.fnLine}
			if doc != nil {
				p.line = doc.mapLine(e.line)
				if p.line < 0 {
					continue
				}
				text := doc.line(p.line)
				p.indent, p.end = utf16Len(text[:indentBytes(text)]), utf16Len(text)
				if fl := doc.mapLine(e.fnLine); fl >= 0 {
					p.fnLine = fl
				} else {
					p.fnLine = p.line
				}
			}
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return out, doc
}

// diagnostic renders one placed incident per the contract.
func (s *server) diagnostic(p placed) protocol.Diagnostic {
	line := uint32(p.line)
	var desc *protocol.CodeDescription
	if l := p.inc.Link; strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		desc = &protocol.CodeDescription{Href: protocol.URI(l)}
	}
	return protocol.Diagnostic{
		CodeDescription: desc,
		Range: protocol.Range{
			Start: protocol.Position{Line: line, Character: uint32(p.indent)},
			End:   protocol.Position{Line: line, Character: uint32(p.end)},
		},
		Severity:           s.severity(p.root.config(), p),
		Code:               p.inc.ID,
		Source:             "faultline",
		Message:            diagnosticMessage(p, s.now()),
		RelatedInformation: p.related,
		Data:               map[string]string{"id": p.inc.ID},
	}
}

// diagnosticMessage: `panic: ... (14x in checkout/prod, last 3m ago, since deploy v1.4.0)`.
func diagnosticMessage(p placed, now time.Time) string {
	inc := p.inc
	parts := []string{fmt.Sprintf("%dx", inc.Count)}
	if where := serviceEnv(inc.Service, inc.Env); where != "" {
		parts[0] += " in " + where
	}
	if !inc.LastSeen.IsZero() {
		parts = append(parts, "last "+ago(now, inc.LastSeen))
	}
	if inc.Deploy != nil && inc.Deploy.Label() != "" {
		parts = append(parts, "since deploy "+inc.Deploy.Label())
	}
	msg := inc.Message
	if msg == "" {
		msg = inc.ErrorType
	}
	return fmt.Sprintf("%s (%s)", msg, strings.Join(parts, ", "))
}

func serviceEnv(service, env string) string {
	switch {
	case service != "" && env != "":
		return service + "/" + env
	case service != "":
		return service
	default:
		return env
	}
}

// isNew reports an incident first seen after the deploy that preceded it:
// new since the last deploy, as opposed to recurring.
func isNew(p placed) bool {
	d := p.inc.Deploy
	return d != nil && !p.inc.FirstSeen.Before(d.Time)
}

func (s *server) severity(cfg config.Config, p placed) protocol.DiagnosticSeverity {
	name := cfg.Severity.Recurring
	if isNew(p) {
		name = cfg.Severity.New
	}
	if cfg.Severity.By == "impact" && s.opt.Impact != nil {
		name = s.opt.Impact(*p.inc, s.now())
	}
	switch name {
	case config.SeverityError:
		return protocol.DiagnosticSeverityError
	case config.SeverityInformation:
		return protocol.DiagnosticSeverityInformation
	case config.SeverityHint:
		return protocol.DiagnosticSeverityHint
	default:
		return protocol.DiagnosticSeverityWarning
	}
}

// ago renders a past time relative to now: "just now", "42s ago", "3m ago",
// "5h ago", "2d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// publisher sends publishDiagnostics for a file only when what it would
// send differs from what it sent last (hash of the rendered diagnostics),
// so diagnostics never flicker.
type publisher struct {
	s    *server
	mu   sync.Mutex // held while sending, so two publishes of a file never reorder
	last map[string]uint64
}

func newPublisher(s *server) *publisher { return &publisher{s: s, last: map[string]uint64{}} }

func (pb *publisher) publish(ctx context.Context, paths []string) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	for _, path := range paths {
		placedList, doc := pb.s.placedIn(path)
		diags := make([]protocol.Diagnostic, 0, len(placedList))
		for _, p := range placedList {
			diags = append(diags, pb.s.diagnostic(p))
		}
		params := protocol.PublishDiagnosticsParams{URI: protocol.DocumentURI(pathToURI(path)), Diagnostics: diags}
		if doc != nil {
			params.URI = protocol.DocumentURI(doc.uri)
			params.Version = uint32(doc.version)
		}
		data, err := json.Marshal(diags)
		if err != nil {
			pb.s.log.printf("bug: render diagnostics for %s: %v", path, err)
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(params.URI))
		h.Write(data)
		sum := h.Sum64()
		prev, sent := pb.last[path]
		if (sent && prev == sum) || (!sent && len(diags) == 0) {
			continue
		}
		if len(diags) == 0 {
			delete(pb.last, path)
		} else {
			pb.last[path] = sum
		}
		if err := pb.s.conn.Notify(ctx, protocol.MethodTextDocumentPublishDiagnostics, params); err != nil {
			pb.s.log.printf("publish diagnostics for %s: %v", path, err)
			return
		}
	}
}

// published lists the files that currently have diagnostics on the client.
func (pb *publisher) published() []string {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	out := make([]string, 0, len(pb.last))
	for p := range pb.last {
		out = append(out, p)
	}
	return out
}
