package lsp

import (
	"context"
	"encoding/json"

	"fmt"
	"os"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// methodCodeActionResolve (LSP 3.16) is not routed by the protocol library.
const methodCodeActionResolve = "codeAction/resolve"

// Fixer proposes fixes for incidents; the fixes work implements it. Listing
// is cheap (titles), edits are computed only when the user picks one.
type Fixer interface {
	// CodeActions lists the fixes for inc in doc, best first.
	CodeActions(ctx context.Context, inc incident.Incident, doc Document) ([]Action, error)
	// Resolve computes the edits of one action returned by CodeActions.
	Resolve(ctx context.Context, inc incident.Incident, doc Document, actionID string) ([]Edit, error)
	// OpenPR pushes a branch with the preferred fix and returns the pull
	// request's URL.
	OpenPR(ctx context.Context, inc incident.Incident) (url string, err error)
}

// Document is the file an action applies to, as the editor has it.
type Document struct {
	URI     string
	Path    string // absolute
	Root    string // workspace root holding it
	Version int32  // 0 when the file is not open
	Text    string
}

// Action is one fix offered for an incident.
type Action struct {
	ID        string // passed back to Resolve
	Title     string
	Preferred bool
}

// Edit replaces Document.Text[Start:End] (byte offsets) with NewText; the
// server converts to UTF-16 positions.
type Edit struct {
	Start, End int
	NewText    string
}

// actionData travels in CodeAction.data between codeAction and resolve.
type actionData struct {
	ID      string `json:"id"`
	Action  string `json:"action"`
	URI     string `json:"uri"`
	Version int32  `json:"version"`
}

// documentFor returns the open buffer of path, or the file on disk.
func (s *server) documentFor(root, path string) (Document, error) {
	if d := s.docs.get(path); d != nil {
		return Document{URI: d.uri, Path: path, Root: root, Version: d.version, Text: d.text()}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Document{}, fmt.Errorf("read %s: %w", path, err)
	}
	return Document{URI: pathToURI(path), Path: path, Root: root, Text: string(data)}, nil
}

// codeAction offers, for each faultline diagnostic in the range, "Show
// incident" and the fixer's fixes (without edits: those come on resolve).
func (s *server) codeAction(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.CodeActionParams
	if err := decode(params, &p); err != nil {
		return reply(ctx, nil, err)
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return reply(ctx, []protocol.CodeAction{}, nil)
	}
	list, _ := s.placedIn(path)
	var hits []placed
	for _, pl := range list {
		if pl.line >= int(p.Range.Start.Line) && pl.line <= int(p.Range.End.Line) {
			hits = append(hits, pl)
		}
	}
	actions := make([]protocol.CodeAction, 0, len(hits))
	for _, pl := range hits {
		actions = append(actions, protocol.CodeAction{
			Title:       "Show production incident " + pl.inc.ID,
			Kind:        protocol.QuickFix,
			Diagnostics: []protocol.Diagnostic{s.diagnostic(pl)},
			Command: &protocol.Command{Title: "Show incident", Command: cmdShowIncident,
				Arguments: []any{map[string]string{"id": pl.inc.ID}}},
		})
		if s.opt.Snooze != nil {
			actions = append(actions, protocol.CodeAction{
				Title:       fmt.Sprintf("Snooze this incident for %d days (.faultline/ignore)", snoozeDays),
				Kind:        protocol.QuickFix,
				Diagnostics: []protocol.Diagnostic{s.diagnostic(pl)},
				Command: &protocol.Command{Title: "Snooze incident", Command: cmdSnooze,
					Arguments: []any{map[string]any{"id": pl.inc.ID, "days": snoozeDays}}},
			})
		}
	}
	if s.opt.Fixer == nil || len(hits) == 0 {
		return reply(ctx, actions, nil)
	}
	return s.async(ctx, reply, "codeAction", func(ctx context.Context) (any, error) {
		for _, pl := range hits {
			doc, err := s.documentFor(pl.root.path, path)
			if err != nil {
				return nil, err
			}
			fixes, err := s.opt.Fixer.CodeActions(ctx, *pl.inc, doc)
			if err != nil {
				s.log.printf("code actions for %s: %v", pl.inc.ID, err)
				continue
			}
			for _, f := range fixes {
				actions = append(actions, protocol.CodeAction{
					Title: f.Title, Kind: protocol.QuickFix, IsPreferred: f.Preferred,
					Diagnostics: []protocol.Diagnostic{s.diagnostic(pl)},
					Data:        actionData{ID: pl.inc.ID, Action: f.ID, URI: doc.URI, Version: doc.Version},
				})
			}
		}
		return actions, nil
	})
}

// codeActionResolve fills the edit of a fix action, for the version the
// action was computed against; a changed document is refused.
func (s *server) codeActionResolve(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var action map[string]json.RawMessage
	if err := decode(params, &action); err != nil {
		return reply(ctx, nil, err)
	}
	var data actionData
	if err := json.Unmarshal(action["data"], &data); err != nil || data.ID == "" {
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, "code action has no faultline data"))
	}
	return s.async(ctx, reply, methodCodeActionResolve, func(ctx context.Context) (any, error) {
		edit, _, err := s.fixEdit(ctx, data)
		if err != nil {
			return nil, err
		}
		action["edit"], _ = json.Marshal(edit)
		return action, nil
	})
}

// fixEdit resolves one action to a versioned WorkspaceEdit.
func (s *server) fixEdit(ctx context.Context, data actionData) (map[string]any, *Document, error) {
	if s.opt.Fixer == nil {
		return nil, nil, errNoFix
	}
	e, r, err := s.find(data.ID)
	if err != nil {
		return nil, nil, err
	}
	doc, err := s.documentFor(r.path, e.path)
	if err != nil {
		return nil, nil, err
	}
	if data.Version != 0 && doc.Version != data.Version {
		return nil, nil, fmt.Errorf("%s changed since the fix was offered (version %d, now %d): ask for code actions again", doc.URI, data.Version, doc.Version)
	}
	edits, err := s.opt.Fixer.Resolve(ctx, *e.inc, doc, data.Action)
	if err != nil {
		return nil, nil, fmt.Errorf("compute fix for %s: %w", data.ID, err)
	}
	lspEdits, err := toTextEdits(doc.Text, edits)
	if err != nil {
		return nil, nil, err
	}
	var version any // null: the file on disk, not an open buffer
	if doc.Version != 0 {
		version = doc.Version
	}
	return map[string]any{"documentChanges": []any{map[string]any{
		"textDocument": map[string]any{"uri": doc.URI, "version": version},
		"edits":        lspEdits,
	}}}, &doc, nil
}

// toTextEdits converts byte-offset edits to LSP ranges in text.
func toTextEdits(text string, edits []Edit) ([]protocol.TextEdit, error) {
	out := make([]protocol.TextEdit, 0, len(edits))
	for _, e := range edits {
		if e.Start < 0 || e.End < e.Start || e.End > len(text) {
			return nil, fmt.Errorf("fix edit [%d,%d) is outside the document (%d bytes)", e.Start, e.End, len(text))
		}
		out = append(out, protocol.TextEdit{
			Range:   protocol.Range{Start: position(text, e.Start), End: position(text, e.End)},
			NewText: e.NewText,
		})
	}
	return out, nil
}

func position(text string, off int) protocol.Position {
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return protocol.Position{Line: uint32(line), Character: uint32(utf16Len(text[start:off]))}
}

// applyFix applies the incident's preferred fix through workspace/applyEdit.
func (s *server) applyFix(ctx context.Context, a commandArgs) (any, error) {
	if s.opt.Fixer == nil {
		return nil, errNoFix
	}
	e, r, err := s.find(a.ID)
	if err != nil {
		return nil, err
	}
	doc, err := s.documentFor(r.path, e.path)
	if err != nil {
		return nil, err
	}
	if a.Version != nil && *a.Version != doc.Version {
		return nil, fmt.Errorf("%s is at version %d, not %d: not applying a fix to a stale document", doc.URI, doc.Version, *a.Version)
	}
	actions, err := s.opt.Fixer.CodeActions(ctx, *e.inc, doc)
	if err != nil {
		return nil, fmt.Errorf("list fixes for %s: %w", a.ID, err)
	}
	if len(actions) == 0 {
		return nil, errNoFix
	}
	best := actions[0]
	for _, act := range actions {
		if act.Preferred {
			best = act
			break
		}
	}
	edit, _, err := s.fixEdit(ctx, actionData{ID: a.ID, Action: best.ID, URI: doc.URI, Version: doc.Version})
	if err != nil {
		return nil, err
	}
	var res struct {
		Applied       bool   `json:"applied"`
		FailureReason string `json:"failureReason"`
	}
	if _, err := s.conn.Call(ctx, protocol.MethodWorkspaceApplyEdit, map[string]any{"label": best.Title, "edit": edit}, &res); err != nil {
		return nil, fmt.Errorf("workspace/applyEdit: %w", err)
	}
	if !res.Applied && res.FailureReason != "" {
		s.log.printf("applyFix %s: client refused: %s", a.ID, res.FailureReason)
	}
	return map[string]any{"applied": res.Applied, "title": best.Title}, nil
}
