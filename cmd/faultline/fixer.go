package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/faultline-dev/faultline/codeactions"
	"github.com/faultline-dev/faultline/codeactions/llm"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/lsp"
)

// fixService is shared by the check command and the language server so
// that validation verdicts are cached across both.
var fixService = codeactions.NewService()

// defaultMaxFixes is how many incidents `faultline check` proposes and
// validates fixes for unless --max-fixes says otherwise. Each Go
// validation is a package build (seconds): a log with hundreds of distinct
// crashes would otherwise keep the command busy for minutes.
const defaultMaxFixes = 20

// fixTargets returns the indexes of the incidents fixable by code, the
// most frequent first, at most max of them, and how many were left out.
func fixTargets(incs []incident.Incident, max int) (targets []int, left int) {
	for i := range incs {
		if rc := incs[i].RootCause; rc == nil || !rc.Fixable || incs[i].Location == nil {
			continue
		}
		targets = append(targets, i)
	}
	slices.SortStableFunc(targets, func(a, b int) int { return cmp.Compare(incs[b].Count, incs[a].Count) })
	if max < 0 {
		max = 0
	}
	if len(targets) > max {
		return targets[:max], len(targets) - max
	}
	return targets, 0
}

// attachFixes fills incs[i].Fixes with the rule fixes that passed (or could
// not run) validation, for the max most frequent incidents fixable by code,
// and returns how many fixable incidents it left out. Incidents are handled
// a few at a time: each Go validation is a package build. A failure to
// propose for one incident leaves its fixes empty; it never fails the run.
func attachFixes(ctx context.Context, root string, incs []incident.Incident, max int) int {
	targets, left := fixTargets(incs, max)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			props, _ := fixService.Propose(ctx, root, incs[i], nil)
			for _, p := range props {
				incs[i].Fixes = append(incs[i].Fixes, p.Fix())
			}
		}()
	}
	wg.Wait()
	return left
}

// errOpenPRUnavailable is returned until pull requests are wired in.
var errOpenPRUnavailable = errors.New("open PR is not available yet")

// lspFixer adapts the rule fixers to lsp.Fixer. Listing runs the rules
// only (cheap, no build); Resolve validates the chosen change and returns
// it as one edit of the lines that differ. Changes are cached per incident
// and document version (and content, for files not open in the editor).
type lspFixer struct {
	svc *codeactions.Service
	// openPR, when set, opens the pull request for an incident.
	openPR func(ctx context.Context, inc incident.Incident) (string, error)
	// llmFor, when set, returns the LLM fixer configured for a workspace
	// root, or nil (the default: no code leaves the machine).
	llmFor func(root string) *llm.Fixer

	mu    sync.Mutex
	cache map[fixKey][]codeactions.Change
}

type fixKey struct {
	id      string
	version int32
	sum     [32]byte
}

func newLSPFixer(svc *codeactions.Service) *lspFixer {
	return &lspFixer{svc: svc, cache: map[fixKey][]codeactions.Change{}}
}

var _ lsp.Fixer = (*lspFixer)(nil)

// changes runs the rules on the document, once per incident and version.
func (f *lspFixer) changes(inc incident.Incident, doc lsp.Document) ([]codeactions.Change, codeactions.Input, error) {
	if inc.RootCause == nil || !inc.RootCause.Fixable {
		return nil, codeactions.Input{}, nil
	}
	in, err := f.svc.Input(doc.Root, inc, []byte(doc.Text))
	if err != nil {
		return nil, in, err
	}
	if abs, err := codeactions.WorkspaceFile(doc.Root, inc.Location.File); err != nil || abs != doc.Path {
		return nil, in, fmt.Errorf("incident %s is located in %s, not in %s", inc.ID, inc.Location.File, doc.Path)
	}
	key := fixKey{inc.ID, doc.Version, sha256.Sum256([]byte(doc.Text))}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.cache[key]; ok {
		return ch, in, nil
	}
	ch := f.svc.Candidates(in)
	f.cache[key] = ch
	return ch, in, nil
}

// CodeActions implements lsp.Fixer.
func (f *lspFixer) CodeActions(ctx context.Context, inc incident.Incident, doc lsp.Document) ([]lsp.Action, error) {
	changes, _, err := f.changes(inc, doc)
	if err != nil {
		return nil, err
	}
	out := make([]lsp.Action, len(changes))
	for i, ch := range changes {
		out[i] = lsp.Action{ID: ch.Rule, Title: ch.Title, Preferred: i == 0}
	}
	if len(changes) == 0 && inc.RootCause != nil && inc.RootCause.Fixable && f.llmFor != nil {
		if lf := f.llmFor(doc.Root); lf != nil {
			// Computed only when chosen (codeAction/resolve): asking costs
			// a model call and sends the function's code.
			out = append(out, lsp.Action{ID: llmActionID, Title: "Ask " + lf.Source() + " for a fix (sends this function's code)"})
		}
	}
	return out, nil
}

// llmActionID names the LLM action among the rule fixes.
const llmActionID = "llm"

// resolveLLM asks the LLM for a fix of the document as the editor has it,
// and returns it as an edit only once it applied and built.
func (f *lspFixer) resolveLLM(ctx context.Context, inc incident.Incident, doc lsp.Document) ([]lsp.Edit, error) {
	lf := f.llmFor(doc.Root)
	if lf == nil {
		return nil, fmt.Errorf("no LLM is configured for %s (llm.provider and llm.send_code in %s)", doc.Root, config.FileName)
	}
	before := []byte(doc.Text)
	fix, err := lf.Fix(ctx, llm.Input{Incident: inc, Root: doc.Root, File: inc.Location.File, Source: before})
	if err != nil {
		return nil, err
	}
	after, err := applyDiff(fix.Diff, before)
	if err != nil {
		return nil, err
	}
	v := f.svc.Validator.Validate(ctx, codeactions.Request{IncidentID: inc.ID, Root: doc.Root, Path: inc.Location.File, Before: before, After: after})
	if v.Verdict == codeactions.Invalid {
		return nil, fmt.Errorf("the %s fix does not build: %s", lf.Source(), firstLine(v.Detail))
	}
	return []lsp.Edit{lineEdit(doc.Text, string(after))}, nil
}

// Resolve implements lsp.Fixer: it validates the change and returns the
// edit, or an error saying why the fix is withheld.
func (f *lspFixer) Resolve(ctx context.Context, inc incident.Incident, doc lsp.Document, actionID string) ([]lsp.Edit, error) {
	if actionID == llmActionID && f.llmFor != nil {
		return f.resolveLLM(ctx, inc, doc)
	}
	changes, in, err := f.changes(inc, doc)
	if err != nil {
		return nil, err
	}
	for _, ch := range changes {
		if ch.Rule != actionID {
			continue
		}
		p := f.svc.Check(ctx, doc.Root, in, ch)
		if p.Validation.Verdict == codeactions.Invalid {
			return nil, fmt.Errorf("the fix %q does not build: %s", ch.Title, firstLine(p.Validation.Detail))
		}
		return []lsp.Edit{lineEdit(doc.Text, string(ch.Content))}, nil
	}
	return nil, fmt.Errorf("no fix %q for incident %s in this version of %s", actionID, inc.ID, doc.Path)
}

// OpenPR implements lsp.Fixer.
func (f *lspFixer) OpenPR(ctx context.Context, inc incident.Incident) (string, error) {
	if f.openPR == nil {
		return "", errOpenPRUnavailable
	}
	return f.openPR(ctx, inc)
}

// lineEdit returns one edit replacing the whole lines where before and
// after differ (the common leading and trailing lines are kept).
func lineEdit(before, after string) lsp.Edit {
	a, b := strings.SplitAfter(before, "\n"), strings.SplitAfter(after, "\n")
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	q := 0
	for q < len(a)-p && q < len(b)-p && a[len(a)-1-q] == b[len(b)-1-q] {
		q++
	}
	start := len(strings.Join(a[:p], ""))
	end := len(before) - len(strings.Join(a[len(a)-q:], ""))
	newText := strings.Join(b[p:len(b)-q], "")
	return lsp.Edit{Start: start, End: end, NewText: newText}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
