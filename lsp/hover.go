package lsp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/faultline-dev/faultline/incident"
)

// hover shows the incidents on the hovered line as Markdown. It reads the
// current snapshot only.
func (s *server) hover(ctx context.Context, reply jsonrpc2.Replier, params []byte) error {
	var p protocol.HoverParams
	if err := decode(params, &p); err != nil {
		return reply(ctx, nil, err)
	}
	path, ok := uriToPath(string(p.TextDocument.URI))
	if !ok {
		return reply(ctx, nil, nil)
	}
	list, _ := s.placedIn(path)
	var parts []string
	var rng *protocol.Range
	for _, pl := range list {
		if pl.line != int(p.Position.Line) {
			continue
		}
		parts = append(parts, s.incidentMarkdown(pl.root.path, pl.inc))
		if rng == nil {
			r := s.diagnostic(pl).Range
			rng = &r
		}
	}
	if len(parts) == 0 {
		return reply(ctx, nil, nil)
	}
	return reply(ctx, protocol.Hover{
		Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: strings.Join(parts, "\n\n---\n\n")},
		Range:    rng,
	}, nil)
}

// incidentMarkdown renders everything known about an incident: the error,
// counts and timeline, versions, deploy, suspect commit, root-cause note,
// the stack as workspace links, trace ids.
func (s *server) incidentMarkdown(rootPath string, inc *incident.Incident) string {
	now := s.now()
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", mdEscape(firstNonEmpty(inc.Message, inc.ErrorType)))
	where := serviceEnv(inc.Service, inc.Env)
	fmt.Fprintf(&b, "%d× in production", inc.Count)
	if where != "" {
		fmt.Fprintf(&b, " (%s)", where)
	}
	fmt.Fprintf(&b, " · incident `%s`\n\n", inc.ID)
	if !inc.FirstSeen.IsZero() {
		fmt.Fprintf(&b, "`%s ├──── %d× ────┤ %s`  \nfirst seen %s (%s), last seen %s (%s)\n\n",
			stamp(inc.FirstSeen), inc.Count, stamp(inc.LastSeen),
			ago(now, inc.FirstSeen), stamp(inc.FirstSeen), ago(now, inc.LastSeen), stamp(inc.LastSeen))
	}
	if len(inc.Versions) > 0 {
		fmt.Fprintf(&b, "Versions: %s\n\n", strings.Join(inc.Versions, ", "))
	}
	if d := inc.Deploy; d != nil {
		fmt.Fprintf(&b, "Deploy: %s at %s", d.Version, stamp(d.Time))
		if d.Commit != "" {
			fmt.Fprintf(&b, " (commit `%s`)", short(d.Commit))
		}
		b.WriteString("\n\n")
	}
	if rc := inc.RootCause; rc != nil {
		if c := rc.SuspectCommit; c != nil {
			fmt.Fprintf(&b, "Suspect commit: `%s` %s — %s\n\n", short(c.SHA), mdEscape(c.Summary), mdEscape(c.Author))
		}
		// Every suspect with its score and why: a suspect is a lead to
		// check, not a verdict.
		for i, sp := range rc.Suspects {
			if i == 3 {
				fmt.Fprintf(&b, "- and %d more suspects\n", len(rc.Suspects)-3)
				break
			}
			fmt.Fprintf(&b, "- suspect `%s` (score %.2f): %s\n", short(sp.SHA), sp.Score, mdEscape(strings.Join(sp.Reasons, "; ")))
		}
		if len(rc.Suspects) > 0 {
			b.WriteString("\n")
		}
		if rc.Summary != "" {
			fmt.Fprintf(&b, "Root cause (%.0f%% confidence): %s\n\n", rc.Confidence*100, mdEscape(rc.Summary))
		}
		if rc.LLMSummary != "" {
			fmt.Fprintf(&b, "LLM summary of the evidence: %s\n\n", mdEscape(rc.LLMSummary))
		}
		for _, e := range rc.Evidence {
			fmt.Fprintf(&b, "- %s: %s\n", e.Kind, mdEscape(e.Text))
		}
		if len(rc.Evidence) > 0 {
			b.WriteString("\n")
		}
	}
	if len(inc.Frames) > 0 {
		b.WriteString("Stack:\n")
		for i, f := range inc.Frames {
			fmt.Fprintf(&b, "%d. %s\n", i+1, frameMarkdown(rootPath, f))
		}
		b.WriteString("\n")
	}
	if len(inc.TraceIDs) > 0 {
		fmt.Fprintf(&b, "Traces: `%s`\n", strings.Join(inc.TraceIDs, "`, `"))
	}
	return strings.TrimSpace(b.String())
}

// frameMarkdown links a mapped in-app frame to its workspace file and line.
func frameMarkdown(rootPath string, f incident.MappedFrame) string {
	name := "`" + f.Function + "`"
	if f.Mapped && f.InApp {
		if path, ok := resolve(rootPath, f.File); ok {
			return fmt.Sprintf("%s [%s:%d](%s#L%d)", name, f.File, f.Line, pathToURI(path), f.Line)
		}
	}
	loc := fmt.Sprintf("%s:%d", f.OriginalPath, f.OriginalLine)
	if f.OriginalPath == "" {
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	if !f.InApp {
		return fmt.Sprintf("%s %s (library)", name, mdEscape(loc))
	}
	return fmt.Sprintf("%s %s (not in the workspace)", name, mdEscape(loc))
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mdEscape keeps log text (untrusted) from being read as Markdown markup.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`)
	return r.Replace(s)
}
