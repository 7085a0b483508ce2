package lsp

import (
	"context"
	"fmt"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// codeLens puts one lens on each function holding incidents:
// `14 production errors · last 3m ago · Show incident`, opening the most
// recent incident of that function.
func (s *server) codeLens(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.CodeLensParams
	if err := decode(params, &p); err != nil {
		return reply(ctx, nil, err)
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return reply(ctx, []protocol.CodeLens{}, nil)
	}
	list, _ := s.placedIn(path)
	type group struct {
		count  int
		latest placed
	}
	groups := map[int]*group{}
	var order []int
	for _, pl := range list {
		g := groups[pl.fnLine]
		if g == nil {
			g = &group{latest: pl}
			groups[pl.fnLine] = g
			order = append(order, pl.fnLine)
		}
		g.count += pl.inc.Count
		if pl.inc.LastSeen.After(g.latest.inc.LastSeen) {
			g.latest = pl
		}
	}
	lenses := make([]protocol.CodeLens, 0, len(order))
	for _, line := range order {
		g := groups[line]
		noun := "production errors"
		if g.count == 1 {
			noun = "production error"
		}
		title := fmt.Sprintf("%d %s · last %s · Show incident", g.count, noun, ago(s.now(), g.latest.inc.LastSeen))
		pos := protocol.Position{Line: uint32(line)}
		lenses = append(lenses, protocol.CodeLens{
			Range: protocol.Range{Start: pos, End: pos},
			Command: &protocol.Command{Title: title, Command: cmdShowIncident,
				Arguments: []any{map[string]string{"id": g.latest.inc.ID}}},
		})
	}
	return reply(ctx, lenses, nil)
}
