package analysis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/secret"
)

// maxMappedFrames bounds how many frames of one trace are mapped and carried:
// the editor shows the top of the stack; a 200-frame Java trace needs no more.
const maxMappedFrames = 40

// build turns a group into an incident: the newest version's sample is read
// at that version's deployed commit and carried to HEAD.
func (a *Analyzer) build(ctx context.Context, g *group, head string) incident.Incident {
	vs := g.versions[g.newestVersion()]
	tr := vs.occ.Trace
	inc := incident.Incident{
		ID:       g.id,
		Service:  g.service,
		Env:      g.env,
		Versions: g.versionList(),
		Language: tr.Language,
		// A credential that leaked into an error message must not travel
		// on into hovers, pull requests, the store or the CLI's output.
		ErrorType: secret.Redact(tr.ErrorType),
		Message:   secret.Redact(tr.Message),
		Count:     g.count,
		FirstSeen: g.first.UTC(),
		LastSeen:  g.last.UTC(),
		TraceIDs:  g.traceIDs,
		Timeline:  g.timeline(),
		Fixes:     []incident.Fix{},
	}
	if inc.Versions == nil {
		inc.Versions = []string{}
	}
	if d := deployBefore(a.cfg.Deploys, g.service, g.env, g.first); d != nil {
		dd := *d
		inc.Deploy = &dd
	}
	deployed, how := a.deployedCommit(ctx, g.service, g.env, vs.version, vs.occ.Time)
	inc.Frames = a.mapFrames(ctx, g.service, tr, deployed, how)
	if deployed == "" && how == "" {
		// Nothing names the running commit (a deploy event's commit the
		// clone lacks is said, not guessed around): see inferDeployed.
		if c, why := a.inferDeployed(ctx, tr.Language, inc.Frames); c != "" {
			deployed, how = c, why
			inc.Frames = a.mapFrames(ctx, g.service, tr, deployed, how)
			for i := range inc.Frames {
				if f := &inc.Frames[i]; f.Mapped && f.InApp && f.OriginalLine > 0 {
					f.Note = joinNote(why, f.Note)
				}
			}
		}
	}
	inc.DeployedCommit = deployed
	if i := a.locationFrame(ctx, &inc, deployed); i >= 0 {
		f := inc.Frames[i]
		inc.Location = &incident.Location{
			File: f.File, Line: f.Line, Column: f.Column, Function: f.Function,
			Status: f.LineStatus, Note: f.Note,
		}
		if inc.Location.Column == 0 || f.LineStatus != "unchanged" {
			// Go and Python print no column, and a carried line's column
			// may have moved: keep the runtime's column when the line
			// only moved (or was re-indented), else point at the
			// statement's first character.
			inc.Location.Column = a.carriedColumn(ctx, deployed, f)
		}
		inc.Location.Function = a.headFunction(ctx, inc.Language, deployed, f)
	}
	inc.RootCause = a.rootCause(ctx, &inc, head)
	inc.RootCause.Evidence = append(inc.RootCause.Evidence, chainEvidence(tr)...)
	return inc
}

// locationFrame is the index of the frame the incident points at: the
// first in-app frame mapped to the workspace, -1 when there is none. A
// stack overflow points at the recursive call instead, an in-app line that
// repeats in the stack: its innermost frame is only where the last call
// ran out of stack (a map lookup, a comparison, the for...of that fetched
// an iterator). When several lines recur (A calls B calls A), the one a
// commit changed last at the deployed commit is taken: the change that
// closed the cycle.
func (a *Analyzer) locationFrame(ctx context.Context, inc *incident.Incident, deployed string) int {
	first := -1
	for i, f := range inc.Frames {
		if f.InApp && f.Mapped {
			first = i
			break
		}
	}
	if first < 0 || !stack.IsStackOverflow(inc.ErrorType, inc.Message) {
		return first
	}
	type site struct {
		at, n int
	}
	sites := map[string]*site{}
	var order []string
	for i, f := range inc.Frames {
		if !f.InApp || !f.Mapped || f.OriginalLine <= 0 {
			continue
		}
		k := f.RepoPathAtDeploy + ":" + strconv.Itoa(f.OriginalLine)
		if sites[k] == nil {
			sites[k] = &site{at: i}
			order = append(order, k)
		}
		sites[k].n++
	}
	var recurring []int
	for _, k := range order {
		if sites[k].n > 1 {
			recurring = append(recurring, sites[k].at)
		}
	}
	switch {
	case len(recurring) == 0:
		return first
	case len(recurring) == 1 || a.cfg.Repo == nil || deployed == "":
		return recurring[0]
	}
	best, bestTime := recurring[0], time.Time{}
	for _, i := range recurring {
		f := inc.Frames[i]
		c, err := a.cfg.Repo.Blame(ctx, deployed, f.RepoPathAtDeploy, f.OriginalLine)
		if err == nil && c.Time.After(bestTime) {
			best, bestTime = i, c.Time
		}
	}
	return best
}

// maxChainEvidence bounds the chained exceptions listed as evidence.
const maxChainEvidence = 3

// chainEvidence names the other exceptions of a chained trace: the wrapper
// a cause was raised as (Java's outer exception, Python's `raise ... from`),
// or the exception being handled when this one occurred. The incident is
// the one whose frames explain the failure; these say how it surfaced.
func chainEvidence(tr incident.Trace) []incident.Evidence {
	var out []incident.Evidence
	for _, c := range tr.Chain {
		msg := firstLineOf(c.Message)
		if msg == "" {
			msg = c.ErrorType
		}
		if msg == "" {
			continue
		}
		if len(out) == maxChainEvidence {
			out = append(out, incident.Evidence{Kind: "trace", Text: fmt.Sprintf("and %d more chained exceptions", len(tr.Chain)-maxChainEvidence)})
			break
		}
		if r := []rune(msg); len(r) > 200 {
			msg = string(r[:200]) + "…"
		}
		out = append(out, incident.Evidence{Kind: "trace", Text: "chained with " + secret.Redact(msg)})
	}
	return out
}

// deployedCommit resolves the commit a version was built from: the deploy
// event's commit, else a tag of that name (also "<service>/<version>"), else
// the version as a sha. It returns "" when nothing resolves, and how it was
// found for the notes.
//
// A version label is not always unique: a Helm appVersion nobody bumps, a
// branch name, a redeploy of "latest" each name another commit. The event
// that counts is the last one of that version deployed before the sample
// was logged (at); later ones (a hotfix shipped after the errors, before
// the analysis) did not run it. Only when none precedes it does any event
// of the version do.
func (a *Analyzer) deployedCommit(ctx context.Context, service, env, version string, at time.Time) (string, string) {
	if a.cfg.Repo == nil || version == "" {
		return "", ""
	}
	missing := "" // a commit a deploy event names that the clone lacks
	for _, timed := range []bool{true, false} {
		for i := len(a.cfg.Deploys) - 1; i >= 0; i-- {
			d := a.cfg.Deploys[i]
			if !sameVersion(deployLabel(&d), version) || d.Commit == "" || !sameService(&d, service, env) {
				continue
			}
			if timed && !at.IsZero() && d.Time.After(at) {
				continue
			}
			if sha, err := a.cfg.Repo.Resolve(ctx, d.Commit); err == nil {
				return sha, "deploy event"
			} else if missing == "" && timed {
				missing = d.Commit
			}
		}
	}
	for _, name := range versionRefs(service, version) {
		if sha, err := a.cfg.Repo.Resolve(ctx, name); err == nil {
			return sha, "tag " + name
		}
	}
	// A label that names no commit (a Helm appVersion, "latest") while the
	// deploy system reports only commits: the commit deployed last before
	// the sample ran it.
	if d := deployBefore(a.cfg.Deploys, service, env, at); d != nil && d.Version == "" && d.Commit != "" {
		if sha, err := a.cfg.Repo.Resolve(ctx, d.Commit); err == nil {
			return sha, "deploy event of " + shortSHA(sha)
		}
	}
	if missing != "" {
		// Said, not guessed around: a shallow clone (CI's --depth 1) or
		// a checkout that never fetched the deployed branch has no
		// history to carry the line through or to blame.
		return "", fmt.Sprintf("the deploy event's commit %s is not in this repository (a shallow clone, or not fetched: git fetch --unshallow)", shortSHA(missing))
	}
	return "", ""
}

// sameVersion reports whether a deploy event's version and a log label name
// the same release: equal, or equal but for a leading "v" before a digit
// (the CD system records the tag v2.3.0, the chart labels pods 2.3.0).
func sameVersion(a, b string) bool {
	if a == b {
		return true
	}
	bare := func(s string) string {
		if len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9' {
			return s[1:]
		}
		return s
	}
	return bare(a) == bare(b)
}

// versionRefs lists the names under which a service's version may be
// tagged: the version itself (Resolve also tries it with a "v" added or
// removed), then a monorepo's per-service tags, "billing/v1.4.0",
// "billing-1.4.0", and changesets' "billing@1.4.0".
func versionRefs(service, version string) []string {
	refs := []string{version}
	if service == "" || version == "" {
		return refs
	}
	bare := strings.TrimPrefix(version, "v")
	for _, sep := range []string{"/", "-", "@"} {
		refs = append(refs, service+sep+version)
		if bare != version {
			refs = append(refs, service+sep+bare)
		} else {
			refs = append(refs, service+sep+"v"+version)
		}
	}
	return refs
}

// mapFrames maps every frame to the workspace and carries in-app lines from
// the deployed commit to HEAD (plus uncommitted edits).
func (a *Analyzer) mapFrames(ctx context.Context, service string, tr incident.Trace, deployed, how string) []incident.MappedFrame {
	n := len(tr.Frames)
	if n > maxMappedFrames {
		n = maxMappedFrames
	}
	out := make([]incident.MappedFrame, 0, n)
	for _, f := range tr.Frames[:n] {
		mf := incident.MappedFrame{
			Function: f.Function, File: f.Path, Line: f.Line, Column: f.Column,
			OriginalPath: f.Path, OriginalLine: f.Line,
		}
		if a.cfg.Mapper != nil {
			// A parser's "library" is a guess from the path alone; the
			// mapper, which knows the workspace, may find the frame is
			// the workspace's own code after all (a Python service that
			// pip-installs its own package runs it from site-packages).
			r := a.cfg.Mapper.Map(tr.Language, service, f)
			if r.File == "" && r.Ambiguous && !f.Library && deployed != "" && a.cfg.Repo != nil {
				if p := a.settleAtDeploy(ctx, tr.Language, deployed, f, r.Candidates); p != "" {
					r.File, r.InApp = p, true
				}
			}
			if r.File != "" && (!f.Library || r.InApp) {
				mf.File, mf.Mapped, mf.InApp = r.File, true, r.InApp
				mf.RepoPathAtDeploy = r.File
				// The mapper knows the working tree; production ran the
				// deployed commit. A file moved to another folder since
				// (same name) is found where the production path says it
				// was then, and carried through the move.
				if deployed != "" && a.cfg.Repo != nil && r.InApp {
					if !a.inDeployed(ctx, deployed, r.File) {
						if p := a.matchDeployedFrame(ctx, deployed, tr.Language, f); p != "" {
							mf.RepoPathAtDeploy = p
						}
					} else if p := a.matchDeployedFrame(ctx, deployed, tr.Language, f); (r.Rule == pathmap.RuleSuffix || r.Rule == pathmap.RuleSymbol) && p != "" && p != r.File &&
						suffixOf(productionPath(tr.Language, f), p) > suffixOf(productionPath(tr.Language, f), r.File) {
						// The working tree's best match is another file of the
						// same name (a twin in a sibling package) because the
						// one production ran has moved since: the deployed
						// tree names it more closely. Carry from that one.
						// Only over a choice made by path suffix: a
						// configured rule, a module or a package is exact.
						mf.File, mf.RepoPathAtDeploy = p, p
					}
				}
			}
		}
		if !mf.Mapped && !f.Library && deployed != "" {
			// The file may have been renamed or deleted since the deploy:
			// look for it in the deployed commit's tree, then carry the
			// line through the rename.
			if p := a.matchDeployedFrame(ctx, deployed, tr.Language, f); p != "" {
				mf.File, mf.Mapped, mf.InApp, mf.RepoPathAtDeploy = p, true, true, p
			}
		}
		if mf.Mapped && mf.InApp && f.Line > 0 {
			a.carry(ctx, &mf, tr.Language, deployed, how)
		}
		out = append(out, mf)
	}
	return out
}

// carry moves a mapped frame's line from the deployed commit to the working tree.
func (a *Analyzer) carry(ctx context.Context, mf *incident.MappedFrame, lang, deployed, how string) {
	if a.cfg.Repo == nil || deployed == "" {
		mf.LineStatus = "unknown"
		if a.cfg.Repo != nil {
			mf.Note = "deployed commit unknown: line shown as printed in production"
			if how != "" {
				mf.Note = how + ": line shown as printed in production"
			}
			a.checkUncarried(mf, lang)
		}
		return
	}
	c, err := a.cfg.Repo.CarryLine(ctx, deployed, mf.RepoPathAtDeploy, mf.OriginalLine)
	if err != nil {
		mf.LineStatus = "unknown"
		mf.Note = fmt.Sprintf("could not carry the line from %s (%s): %v", shortSHA(deployed), how, err)
		return
	}
	if c.Path != "" {
		mf.File = c.Path
	}
	mf.Line = c.Line
	mf.LineStatus = c.Status
	mf.Note = c.Note
	if c.Status == gitrepo.StatusDeleted || c.Status == gitrepo.StatusMissing {
		if a.notYetAtHead(ctx, mf, deployed) {
			return
		}
		if a.findMoved(ctx, mf, deployed) || a.findMovedFunction(ctx, mf, lang, deployed, c.Status) {
			return
		}
	}
	if c.Status == "moved" && mf.Note == "" {
		mf.Note = fmt.Sprintf("line %d at the deployed commit %s is line %d now", mf.OriginalLine, shortSHA(deployed), c.Line)
	}
	if c.Status == gitrepo.StatusMoved || c.Status == gitrepo.StatusUnchanged {
		a.olderAtHead(ctx, mf, deployed)
	}
}

// olderAtHead notes a carried line whose text at HEAD is an earlier version
// of the deployed one: the commit that rewrote it for the deploy is not in
// HEAD's history (a checkout older than the deploy, a hotfix branch not
// merged back). The statement is the same one, but the text the developer
// sees is not the text that failed.
func (a *Analyzer) olderAtHead(ctx context.Context, mf *incident.MappedFrame, deployed string) {
	head, in, ok := a.deployedInHead(ctx, deployed)
	if !ok || in {
		return // HEAD edited the line after the deploy, if at all: an ordinary carry
	}
	old, ok := a.deployedLines(ctx, mf, deployed)
	cur, ok2 := a.workingLine(mf.File, mf.Line)
	if !ok || !ok2 || mf.OriginalLine < 1 || mf.OriginalLine > len(old) ||
		strings.TrimSpace(old[mf.OriginalLine-1]) == strings.TrimSpace(cur) {
		return
	}
	w, err := a.cfg.Repo.Blame(ctx, deployed, mf.RepoPathAtDeploy, mf.OriginalLine)
	if err != nil || w.SHA == "" {
		return
	}
	if in, err := a.cfg.Repo.IsAncestor(ctx, w.SHA, head); err != nil || in {
		return
	}
	mf.Note = joinNote(mf.Note, fmt.Sprintf("HEAD has an earlier version of this line: %s %q rewrote it for the deployed commit %s and is not in this checkout",
		shortSHA(w.SHA), w.Summary, shortSHA(deployed)))
}

// deployedInHead returns HEAD and whether the deployed commit is in its
// history (ok is false when either cannot be read). Every carried frame
// asks, and the answer is a walk of the history: it is kept per deployed
// commit for the analysis, as the working files are.
func (a *Analyzer) deployedInHead(ctx context.Context, deployed string) (head string, in, ok bool) {
	head, err := a.cfg.Repo.Head(ctx)
	if err != nil || head == "" {
		return "", false, false
	}
	key := deployed + ".." + head
	if in, seen := a.inHead[key]; seen {
		return head, in, true
	}
	in, err = a.cfg.Repo.IsAncestor(ctx, deployed, head)
	if err != nil {
		return "", false, false
	}
	a.inHead[key] = in
	return head, in, true
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// checkUncarried checks a line shown as printed (no deployed commit to
// carry it through) against the function the frame names: when that line
// of the working file lies in another function, the printed number cannot
// be the failing statement there (the file changed since the deploy), so
// the location moves to the named function's declaration, with a note
// saying the statement's own line is not known. Only one declaration of
// that name in the file counts; otherwise nothing changes.
func (a *Analyzer) checkUncarried(mf *incident.MappedFrame, lang string) {
	fn := shortFunction(mf.Function)
	lines, ok := a.workingLines(mf.File)
	if fn == "" || declRe[lang] == nil || !ok || lineInFunction(lang, lines, mf.Line, fn) {
		return
	}
	decls := declsOf(lang, lines, fn)
	if len(decls) != 1 {
		return
	}
	at := decls[0]
	mf.Note += fmt.Sprintf("; line %d of %s is outside %s, which starts at line %d: the failing statement's line there is not known",
		mf.Line, mf.File, fn, at)
	mf.Line = at
}

// notYetAtHead handles a line the diff to HEAD lost because HEAD never had
// it: the checkout is older than the deployed commit (a developer who has
// not pulled, a deploy built from a release or hotfix branch not merged
// yet), and the commit that wrote the line is not in HEAD's history. No
// statement at HEAD is that line, so none is claimed: the status is
// unknown and the note names the commit HEAD lacks. It reports whether it
// did so.
func (a *Analyzer) notYetAtHead(ctx context.Context, mf *incident.MappedFrame, deployed string) bool {
	head, in, ok := a.deployedInHead(ctx, deployed)
	if !ok || in {
		return false // every line of the deployed commit is in HEAD's history
	}
	w, err := a.cfg.Repo.Blame(ctx, deployed, mf.RepoPathAtDeploy, mf.OriginalLine)
	if err != nil || w.SHA == "" {
		return false
	}
	if in, err := a.cfg.Repo.IsAncestor(ctx, w.SHA, head); err != nil || in {
		return false // HEAD had the line once: it was deleted or moved since
	}
	mf.LineStatus = "unknown"
	behind := "HEAD " + shortSHA(head) + " does not contain it"
	if in, err := a.cfg.Repo.IsAncestor(ctx, head, deployed); err == nil && in {
		behind = "HEAD " + shortSHA(head) + " is older than the deployed commit"
	}
	mf.Note = fmt.Sprintf("line %d of %s at the deployed commit %s was written by %s %q, which is not in this checkout (%s): update it to see the line",
		mf.OriginalLine, mf.RepoPathAtDeploy, shortSHA(deployed), shortSHA(w.SHA), w.Summary, behind)
	if mf.Line > 0 {
		mf.Note += fmt.Sprintf("; line %d is only where it would be", mf.Line)
	}
	return true
}

// findMoved looks for a statement the diff of its file lost (the function
// moved into a new file when a class was split; a file moved and changed
// too much for git to call it a rename) in the files changed since the
// deployed commit, by its text and the lines around it, as `git blame -C`
// does. It moves mf there when one place matches best.
func (a *Analyzer) findMoved(ctx context.Context, mf *incident.MappedFrame, deployed string) bool {
	old, ok := a.deployedLines(ctx, mf, deployed)
	if !ok {
		return false
	}
	if mf.OriginalLine < 1 || mf.OriginalLine > len(old) {
		return false
	}
	target := strings.TrimSpace(old[mf.OriginalLine-1])
	if len(target) < minMovedText || strings.Trim(target, "{}()[];, ") == "" {
		return false
	}
	changed, ok := a.changedSince(ctx, deployed)
	if !ok {
		return false
	}
	ext := path.Ext(mf.RepoPathAtDeploy)
	bestFile, bestLine, bestScore, ties := "", 0, -1, 0
	var bestLines []string
	var tiedFiles []string // the file of each best-scoring place
	hits := 0              // places holding the statement's text at all
	for _, f := range changed {
		if path.Ext(f) != ext || isThirdParty(f) {
			continue
		}
		lines, ok := a.readWorking(f) // many files, each once: not kept
		if !ok {
			continue // renamed away, deleted, or not in the working tree
		}
		for i, l := range lines {
			if strings.TrimSpace(l) != target {
				continue
			}
			hits++
			score := 0
			for k := -movedContext; k <= movedContext; k++ {
				o, n := mf.OriginalLine-1+k, i+k
				if k == 0 || o < 0 || n < 0 || o >= len(old) || n >= len(lines) {
					continue
				}
				if t := strings.TrimSpace(old[o]); t != "" && t == strings.TrimSpace(lines[n]) {
					score++
				}
			}
			switch {
			case score > bestScore:
				bestFile, bestLine, bestScore, ties, bestLines = f, i+1, score, 0, lines
				tiedFiles = []string{f}
			case score == bestScore:
				ties++
				tiedFiles = append(tiedFiles, f)
			}
		}
	}
	if ties > 0 && bestScore >= 2 {
		// Copy-pasted twins (billing/models.py and shipping/models.py)
		// hold the statement with the same neighbours: the place in the
		// file nearest the deployed one, alone in its file, wins.
		if f := nearestDeclaring(mf.RepoPathAtDeploy, tiedFiles); f != "" && f != bestFile {
			if lines, ok := a.readWorking(f); ok {
				if n := placeOf(lines, target, old, mf.OriginalLine, bestScore); n > 0 {
					bestFile, bestLine, bestLines, ties = f, n, lines, 0
				}
			}
		} else if f != "" {
			ties = 0
		}
	}
	loose := 0
	if bestFile != "" && hits == 1 && bestScore < 2 {
		// The only place that holds the statement, but its neighbours
		// moved with it only loosely: a function inlined into its caller
		// keeps its body's statements while the lines around them change
		// (the signature gone, a return become a continue). Accept it when
		// a distinctive line of the old context is near it, at any offset.
		loose = nearbyContext(old, mf.OriginalLine-1, bestLines, bestLine-1)
		if loose < 1 && a.rewrittenMove(ctx, mf, deployed, bestFile) {
			loose = 1
		}
	}
	if bestFile == "" || ties > 0 || bestScore < 2 && loose < 1 {
		return false
	}
	mf.File, mf.Line, mf.LineStatus = bestFile, bestLine, gitrepo.StatusMoved
	mf.Note = fmt.Sprintf("line %d of %s at the deployed commit %s moved to %s:%d (found by its text)",
		mf.OriginalLine, mf.RepoPathAtDeploy, shortSHA(deployed), bestFile, bestLine)
	return true
}

// rewrittenMove reports whether file, the only changed file holding a
// statement, is new since the deployed commit while the statement's own
// file is gone from the working tree: the file was moved and rewritten in
// one go (settings.py become config.py, a docstring, a table and a helper
// now above the statement), too much for git to call it a rename and for
// the statement's neighbours to have stayed. A statement deleted from a
// file that is still there is never taken for moved so.
func (a *Analyzer) rewrittenMove(ctx context.Context, mf *incident.MappedFrame, deployed, file string) bool {
	if _, ok := a.readWorking(mf.RepoPathAtDeploy); ok {
		return false
	}
	return !a.inDeployed(ctx, deployed, file)
}

// placeOf returns the 1-based line of lines holding target with score
// equal lines of old's context around it, 0 when none or more than one do.
func placeOf(lines []string, target string, old []string, origLine, score int) int {
	at := 0
	for i, l := range lines {
		if strings.TrimSpace(l) != target {
			continue
		}
		n := 0
		for k := -movedContext; k <= movedContext; k++ {
			o, c := origLine-1+k, i+k
			if k == 0 || o < 0 || c < 0 || o >= len(old) || c >= len(lines) {
				continue
			}
			if t := strings.TrimSpace(old[o]); t != "" && t == strings.TrimSpace(lines[c]) {
				n++
			}
		}
		if n == score {
			if at != 0 {
				return 0
			}
			at = i + 1
		}
	}
	return at
}

// nearbyContext counts the distinctive lines (not bare braces or short
// keywords) within movedContext of old[o] that appear within
// movedContext+2 lines of cur[n], wherever they are in that window.
func nearbyContext(old []string, o int, cur []string, n int) int {
	near := map[string]bool{}
	for k := -movedContext - 2; k <= movedContext+2; k++ {
		if j := n + k; k != 0 && j >= 0 && j < len(cur) {
			near[strings.TrimSpace(cur[j])] = true
		}
	}
	score := 0
	for k := -movedContext; k <= movedContext; k++ {
		j := o + k
		if k == 0 || j < 0 || j >= len(old) {
			continue
		}
		t := strings.TrimSpace(old[j])
		if len(strings.Trim(t, "{}()[];, ")) < minMovedText {
			continue
		}
		if near[t] {
			score++
		}
	}
	return score
}

// deployedLines returns the lines of mf's file at the deployed commit,
// where findMoved and findMovedFunction start from.
func (a *Analyzer) deployedLines(ctx context.Context, mf *incident.MappedFrame, deployed string) ([]string, bool) {
	if a.cfg.Root == "" {
		return nil, false
	}
	b, err := a.cfg.Repo.FileAt(ctx, deployed, mf.RepoPathAtDeploy)
	if err != nil {
		return nil, false
	}
	return splitLines(b), true
}

// changedSince lists the files changed from the deployed commit to HEAD,
// where a statement or function the carry lost may have gone; ok is false
// when they cannot be listed or are too many to search.
func (a *Analyzer) changedSince(ctx context.Context, deployed string) ([]string, bool) {
	head, err := a.cfg.Repo.Head(ctx)
	if err != nil {
		return nil, false
	}
	changed, err := a.cfg.Repo.ChangedFiles(ctx, deployed, head)
	if err != nil || len(changed) > maxMovedSearch {
		return nil, false
	}
	return changed, true
}

// findMovedFunction follows the function that held a statement the carry
// lost when that function now lives elsewhere: the file was moved and
// edited too much to be a rename, or the function was moved to another
// file, and the statement itself changed or went away since (a fix made
// in the function's new home). The function is found by its declaration
// line, in the one place that declares it among the files changed since
// the deploy; the statement is carried inside it, so an edited statement
// is still found (moved) and a removed one is deleted, at the nearest line
// of the function, rather than a line of the old file where the function
// no longer is (or of a file that no longer exists).
func (a *Analyzer) findMovedFunction(ctx context.Context, mf *incident.MappedFrame, lang, deployed, status string) bool {
	old, ok := a.deployedLines(ctx, mf, deployed)
	if !ok {
		return false
	}
	start, end, decl, ok := funcExtent(lang, old, mf.OriginalLine)
	if !ok || len(decl) < minMovedText {
		return false
	}
	declares := func(lines []string) int {
		at := 0
		for i, l := range lines {
			if strings.TrimSpace(l) == decl {
				if at != 0 {
					return -1 // declared twice: not this one
				}
				at = i + 1
			}
		}
		return at
	}
	if status == gitrepo.StatusDeleted {
		if lines, ok := a.readWorking(mf.File); ok && declares(lines) != 0 {
			return false // still in the carried file: its nearest line stands
		}
	}
	changed, ok := a.changedSince(ctx, deployed)
	if !ok {
		return false
	}
	ext := path.Ext(mf.RepoPathAtDeploy)
	var found []string // files declaring it, in changed order
	decls := map[string]int{}
	texts := map[string][]string{}
	for _, f := range changed {
		if path.Ext(f) != ext || isThirdParty(f) || f == mf.RepoPathAtDeploy {
			continue
		}
		lines, ok := a.readWorking(f)
		if !ok {
			continue
		}
		switch n := declares(lines); {
		case n < 0:
			return false
		case n > 0:
			found = append(found, f)
			decls[f], texts[f] = n, lines
		}
	}
	// Twin types in sibling packages declare the same method line by line
	// (a generic base[K, V] in pool and in lru): the one nearest the
	// deployed file, the same package folder first, is where it went.
	file := nearestDeclaring(mf.RepoPathAtDeploy, found)
	if file == "" {
		return false
	}
	at, cur := decls[file], texts[file]
	nstart, nend, _, ok := funcExtent(lang, cur, at)
	if !ok || nstart != at {
		return false
	}
	n, st := gitrepo.NewDrift(old[start-1:end], cur[nstart-1:nend]).Carry(mf.OriginalLine - start + 1)
	if n < 1 {
		n = 1
	}
	mf.File, mf.Line = file, nstart-1+n
	fn := strings.TrimSpace(decl)
	if st == gitrepo.StatusDeleted {
		mf.LineStatus = gitrepo.StatusDeleted
		mf.Note = fmt.Sprintf("line %d of %s at %s no longer exists; its function (%s) is now in %s, line %d is the nearest",
			mf.OriginalLine, mf.RepoPathAtDeploy, shortSHA(deployed), fn, file, mf.Line)
		return true
	}
	mf.LineStatus = gitrepo.StatusMoved
	mf.Note = fmt.Sprintf("line %d of %s at the deployed commit %s moved to %s:%d with its function (%s)",
		mf.OriginalLine, mf.RepoPathAtDeploy, shortSHA(deployed), file, mf.Line, fn)
	return true
}

// nearestDeclaring picks, among the files that declare a moved function,
// the one sharing the most leading folders with the deployed file: the
// only one, or the single nearest when twins declare it too. "" when no
// file does or the nearest are tied.
func nearestDeclaring(deployed string, files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	dir := strings.Split(path.Dir(deployed), "/")
	best, bestN, tied := "", -1, false
	for _, f := range files {
		n := commonPrefix(dir, strings.Split(path.Dir(f), "/"))
		switch {
		case n > bestN:
			best, bestN, tied = f, n, false
		case n == bestN:
			tied = true
		}
	}
	if tied {
		return ""
	}
	return best
}

// commonPrefix counts the equal leading segments of a and b.
func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] && a[n] != "." {
		n++
	}
	return n
}

// A moved statement is looked for by its text (at least minMovedText
// bytes, so "}" or "return x" is not) and scored by the movedContext lines
// on each side that came along.
// maxMovedSearch bounds the changed files read (a deploy a year behind
// HEAD is not searched).
const (
	minMovedText   = 12
	movedContext   = 3
	maxMovedSearch = 2000
)

// isInfrastructure reports whether an error message names a failure outside
// the code: a dependency that refused, timed out or ran out of capacity.
// Such incidents get no code fix.
func isInfrastructure(msg string) (string, bool) {
	m := strings.ToLower(msg)
	for _, p := range infraPatterns {
		if strings.Contains(m, p.needle) {
			return p.what, true
		}
	}
	return "", false
}

var infraPatterns = []struct{ needle, what string }{
	{"connection refused", "a dependency refused the connection"},
	{"connectionrefusederror", "a dependency refused the connection"},
	{"econnrefused", "a dependency refused the connection"},
	{"connection reset", "a dependency reset the connection"},
	{"econnreset", "a dependency reset the connection"},
	{"no such host", "a dependency's host name does not resolve"},
	{"unknownhostexception", "a dependency's host name does not resolve"},
	{"getaddrinfo", "a dependency's host name does not resolve"},
	{"i/o timeout", "a dependency timed out"},
	{"deadline exceeded", "a dependency timed out"},
	{"etimedout", "a dependency timed out"},
	{"sockettimeoutexception", "a dependency timed out"},
	{"timed out", "a dependency timed out"},
	{"too many connections", "a connection pool or server limit was exhausted"},
	{"pool exhausted", "a connection pool was exhausted"},
	{"pool is exhausted", "a connection pool was exhausted"},
	{"connection pool", "a connection pool was exhausted"},
	{"remaining connection slots", "a connection pool or server limit was exhausted"},
	{"no space left on device", "the disk is full"},
	{"out of memory", "the process ran out of memory"},
	{"outofmemoryerror", "the process ran out of memory"},
	{"broken pipe", "a peer closed the connection"},
	{"network is unreachable", "the network is unreachable"},
	{"service unavailable", "a dependency is unavailable"},
}

// inDeployed reports whether the deployed commit has file: false only when
// git says it does not (one lookup, not a listing of the tree).
func (a *Analyzer) inDeployed(ctx context.Context, deployed, file string) bool {
	_, err := a.cfg.Repo.FileAt(ctx, deployed, file)
	return !errors.Is(err, gitrepo.ErrFileNotFound)
}

// tree returns the files of the deployed commit, listed once per commit;
// empty when they cannot be listed.
func (a *Analyzer) tree(ctx context.Context, deployed string) []string {
	if t, ok := a.trees[deployed]; ok {
		return t
	}
	list, err := a.cfg.Repo.ChangedFiles(ctx, "", deployed)
	if err != nil {
		list = nil
	}
	a.trees[deployed] = list
	return list
}

// settleAtDeploy picks among files the mapper could not tell apart (two
// TaxTable.java in one package, one in a module the build leaves out) the
// only one where, at the deployed commit, the frame's line lies inside a
// function of the frame's name: production ran that one.
func (a *Analyzer) settleAtDeploy(ctx context.Context, lang, deployed string, f incident.Frame, cands []pathmap.Candidate) string {
	name := shortFunction(f.Function)
	if name == "" || f.Line <= 0 {
		return ""
	}
	best := 0
	for _, c := range cands {
		best = max(best, c.SuffixLen)
	}
	found := ""
	for _, c := range cands {
		if c.SuffixLen != best || best == 0 {
			continue
		}
		b, err := a.cfg.Repo.FileAt(ctx, deployed, c.File)
		if err != nil {
			continue
		}
		lines := splitLines(b)
		start, _, decl, ok := funcExtent(lang, lines, f.Line)
		if !ok || declName(lang, decl) != name || !insideBody(lang, lines, start, f.Line) {
			continue
		}
		if found != "" {
			return "" // still a tie
		}
		found = c.File
	}
	return found
}

// shortFunction is the bare name of a frame's function: "rateFor" of
// "com.acme.tax.TaxTable$Bands.rateFor", "total" of "Cart.total".
func shortFunction(fn string) string {
	if i := strings.LastIndexAny(fn, ".$:"); i >= 0 {
		fn = fn[i+1:]
	}
	return strings.TrimSpace(fn)
}

// insideBody reports whether line (1-based) lies inside the body of the
// function declared at start: for brace languages, the braces opened from
// the declaration are still open before the line; for Python, the line is
// indented deeper than the def (or blank).
func insideBody(lang string, lines []string, start, line int) bool {
	if start < 1 || line > len(lines) || line <= start {
		return line == start
	}
	if lang == "python" {
		l := lines[line-1]
		return strings.TrimSpace(l) == "" || leadingSpace(l) > leadingSpace(lines[start-1])
	}
	depth, opened := 0, false
	for i := start - 1; i < line-1; i++ {
		for _, c := range lines[i] {
			switch c {
			case '{':
				depth++
				opened = true
			case '}':
				depth--
			}
		}
		if opened && depth <= 0 {
			return false
		}
	}
	return true
}

// productionPath is the path a frame names, for matching against a tree: a
// JVM frame names its file alone ("Zones.java"), and its package says the
// folders ("com/acme/tariffs/Zones.java"), which tell apart two files of
// one name in other packages.
func productionPath(lang string, f incident.Frame) string {
	if (lang == "java" || lang == "kotlin") && f.Package != "" && !strings.ContainsAny(f.Path, "/\\") {
		return strings.ReplaceAll(f.Package, ".", "/") + "/" + f.Path
	}
	return f.Path
}

// deployedCandidates lists the application files of the deployed commit
// sharing the longest path suffix with a production path (none when no
// segment matches).
func (a *Analyzer) deployedCandidates(ctx context.Context, deployed, prodPath string) []string {
	files := a.tree(ctx, deployed)
	prod := pathSegments(prodPath)
	var best []string
	bestLen := 0
	for _, f := range files {
		if isThirdParty(f) {
			continue
		}
		n := commonSuffix(prod, strings.Split(f, "/"))
		switch {
		case n > bestLen:
			best, bestLen = []string{f}, n
		case n == bestLen && n > 0:
			best = append(best, f)
		}
	}
	return best
}

// matchDeployedFrame finds the file of the deployed commit that a frame's
// production path names: the unique longest path suffix among its
// application files, "" when none or a tie. A JVM frame names
// its file alone and javac does not require folders to follow packages
// (modules/billing/src/Invoice.java holding com.acme.billing.Invoice, a
// twin Invoice.java in modules/shipping/src): when several files of the
// deployed tree match equally, the one whose package declaration is the
// frame's package is the one production ran.
func (a *Analyzer) matchDeployedFrame(ctx context.Context, deployed, lang string, f incident.Frame) string {
	best := a.deployedCandidates(ctx, deployed, productionPath(lang, f))
	if len(best) == 1 {
		return best[0]
	}
	if len(best) == 0 || f.Package == "" || (lang != "java" && lang != "kotlin") {
		return ""
	}
	found := ""
	for _, p := range best {
		b, err := a.cfg.Repo.FileAt(ctx, deployed, p)
		if err != nil || declaredPackage(splitLines(b)) != f.Package {
			continue
		}
		if found != "" {
			return "" // two files of one package: still a tie
		}
		found = p
	}
	return found
}

// declaredPackage is the package a Java or Kotlin source file declares
// ("package com.acme.billing;"), "" when it declares none.
func declaredPackage(lines []string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(t, "package "); ok {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), ";"))
		}
		if strings.HasPrefix(t, "import ") || strings.HasPrefix(t, "public ") || strings.HasPrefix(t, "class ") {
			return ""
		}
	}
	return ""
}

// suffixOf counts the trailing path segments a production path shares with
// a repo-relative file.
func suffixOf(prodPath, file string) int {
	return commonSuffix(pathSegments(prodPath), strings.Split(file, "/"))
}

// pathSegments splits a production path (either slash) into its folders
// and file name.
func pathSegments(p string) []string {
	return strings.Split(strings.Trim(strings.ReplaceAll(p, "\\", "/"), "/"), "/")
}

// commonSuffix counts the equal trailing segments of a and b.
func commonSuffix(a, b []string) int {
	n := 0
	for i, j := len(a)-1, len(b)-1; i >= 0 && j >= 0 && a[i] == b[j]; i, j = i-1, j-1 {
		n++
	}
	return n
}

func isThirdParty(p string) bool {
	return strings.HasPrefix(p, "vendor/") || strings.Contains(p, "node_modules/") ||
		strings.Contains(p, "/vendor/") || strings.Contains(p, "site-packages/")
}

// statementColumn returns the 1-based column of the first non-blank
// character of a line in the working tree, or 1 when it cannot be read.
func (a *Analyzer) statementColumn(file string, line int) int {
	l, ok := a.workingLine(file, line)
	if !ok {
		return 1
	}
	return indentOf(l) + 1
}

// carriedColumn is the column of a frame carried from the deployed commit
// to another line of the working tree: the runtime's own column (V8
// prints one) shifted by the change of indentation when the line's text
// is otherwise the same up to the end of the token the column names (a
// statement a formatter wrapped after it, "return cart.items.reduce(",
// still fails there), else the statement's first character.
func (a *Analyzer) carriedColumn(ctx context.Context, deployed string, f incident.MappedFrame) int {
	if f.Column <= 0 || f.LineStatus != gitrepo.StatusMoved || deployed == "" || a.cfg.Repo == nil || f.RepoPathAtDeploy == "" {
		return a.statementColumn(f.File, f.Line)
	}
	cur, ok := a.workingLine(f.File, f.Line)
	if !ok {
		return 1
	}
	b, err := a.cfg.Repo.FileAt(ctx, deployed, f.RepoPathAtDeploy)
	old := splitLines(b)
	if err != nil || f.OriginalLine <= 0 || f.OriginalLine > len(old) {
		return indentOf(cur) + 1
	}
	was := old[f.OriginalLine-1]
	if !sameThroughToken(strings.TrimLeft(was, " \t"), strings.TrimLeft(cur, " \t"), f.Column-1-indentOf(was)) {
		return indentOf(cur) + 1
	}
	col := f.Column - indentOf(was) + indentOf(cur)
	if col < indentOf(cur)+1 || col > len(cur) {
		return indentOf(cur) + 1
	}
	return col
}

// headFunction names the function that holds the frame's line at HEAD:
// the frame's own name, unless the function was renamed since the
// deployed commit (the declaration around the line then has another
// name), in which case the new name replaces the old one in it
// ("limits.Check" becomes "limits.CheckDaily"), so hovers and the JSON
// name what the user finds in the file. Names the compiler derives are
// carried too: a Go closure's or package initializer's number
// ("Close.func1" -> "Close.func2", "init.0" -> "init.1") and the class a
// Java or Node frame names ("Quote$Tag.<init>" -> "Quote$Memo.<init>").
func (a *Analyzer) headFunction(ctx context.Context, lang, deployed string, f incident.MappedFrame) string {
	if f.LineStatus != gitrepo.StatusMoved && f.LineStatus != gitrepo.StatusUnchanged ||
		deployed == "" || a.cfg.Repo == nil || f.RepoPathAtDeploy == "" || a.cfg.Root == "" {
		return f.Function
	}
	b, err := a.cfg.Repo.FileAt(ctx, deployed, f.RepoPathAtDeploy)
	if err != nil {
		return f.Function
	}
	old := splitLines(b)
	oldStart, _, oldDecl, ok := funcExtent(lang, old, f.OriginalLine)
	if !ok {
		return f.Function
	}
	cur, ok := a.workingLines(f.File)
	if !ok {
		return f.Function
	}
	newStart, _, newDecl, ok := funcExtent(lang, cur, f.Line)
	if !ok {
		return f.Function
	}
	function := f.Function
	if lang == "go" {
		function = renumberedClosure(function, goClosurePath(b, f.OriginalLine), goClosurePath([]byte(strings.Join(cur, "\n")), f.Line))
		if fn, ok := renumberedInit(function, old, oldStart, cur, newStart); ok {
			return fn
		}
	}
	function = renamedClass(lang, function, enclosingClass(old, f.OriginalLine), enclosingClass(cur, f.Line))
	return renamedFunction(lang, function, declName(lang, oldDecl), declName(lang, newDecl))
}

// goInitDecl is a package initializer's declaration.
var goInitDecl = regexp.MustCompile(`^func\s+init\s*\(\s*\)`)

// renumberedInit renames a Go package initializer's frame after the
// number it has at HEAD. The compiler names the package's init functions
// init.0, init.1, ... in file and declaration order, so a func init added
// above the one that panicked renumbers it: "tariff.init.0" at the
// deployed commit is "tariff.init.1" now. The files before this one are
// assumed to keep their number of initializers. ok is false when the frame
// is not an initializer's (or one of its closures).
func renumberedInit(function string, old []string, oldStart int, cur []string, newStart int) (string, bool) {
	i := strings.LastIndex(function, ".init.")
	if i < 0 || oldStart < 1 || newStart < 1 || !goInitDecl.MatchString(old[oldStart-1]) || !goInitDecl.MatchString(cur[newStart-1]) {
		return "", false
	}
	digits := function[i+len(".init."):]
	rest := ""
	if j := strings.IndexByte(digits, '.'); j >= 0 {
		digits, rest = digits[:j], digits[j:]
	}
	n, err := strconv.Atoi(digits)
	if err != nil || strings.Contains(function[:i], "(") {
		return "", false
	}
	inits := func(lines []string, before int) int {
		c := 0
		for _, l := range lines[:before-1] {
			if goInitDecl.MatchString(l) {
				c++
			}
		}
		return c
	}
	offset := n - inits(old, oldStart) // initializers of the files before
	if offset < 0 {
		return "", false
	}
	return function[:i] + ".init." + strconv.Itoa(offset+inits(cur, newStart)) + rest, true
}

// renamedFunction returns a frame's function name with the declaration's
// old name was replaced by its name now, or the name unchanged when the
// frame does not name that declaration.
func renamedFunction(lang, function, was, now string) string {
	if was == "" || now == "" || was == now {
		return function
	}
	// A Java constructor frame names its class: the declaration
	// "Memo(String note) {" of a class renamed from Tag turns
	// "com.acme.Quote$Tag.<init>" into "com.acme.Quote$Memo.<init>" (the
	// "$" of a nested class is not part of the name).
	if lang == "java" && strings.HasSuffix(function, ".<init>") {
		class := strings.TrimSuffix(function, ".<init>")
		i := strings.LastIndexAny(class, ".$") + 1
		if class[i:] != was {
			return function
		}
		return class[:i] + now + ".<init>"
	}
	// A Node accessor frame names the property twice, "get vatRate [as
	// vatRate]": both are the declaration's name. Another alias is the
	// property the caller used ("Router.handle [as handle_request]").
	if lang == "node" {
		if base, alias, ok := strings.Cut(function, " [as "); ok {
			r := renamedFunction(lang, base, was, now)
			if r != base && alias == was+"]" {
				alias = now + "]"
			}
			return r + " [as " + alias
		}
	}
	i := strings.LastIndex(function, was)
	if i < 0 {
		return function
	}
	// The old name must be the frame's function name, whole: not a
	// closure's or a lambda's enclosing name matched by chance.
	if end := i + len(was); end < len(function) && isIdentByte(function[end]) || i > 0 && isIdentByte(function[i-1]) {
		return function
	}
	return function[:i] + now + function[i+len(was):]
}

// declNameRe finds the declared name in a declaration line that declRe
// matched: the identifier before the parameter list (or before "=" for a
// Node function expression).
var declNameRe = regexp.MustCompile(`([A-Za-z_$][\w$]*)\s*(?:\[[^\]]*\])?\s*(?:\(|=|:\s*(?:async\s+)?function)`)

// declName returns the name a declaration line declares, or "".
func declName(lang, decl string) string {
	if lang == "go" {
		// Skip a method's receiver: "func (c *Cart) Total(" names Total.
		rest := strings.TrimSpace(strings.TrimPrefix(decl, "func"))
		if strings.HasPrefix(rest, "(") {
			if j := strings.IndexByte(rest, ')'); j >= 0 {
				rest = rest[j+1:]
			}
		}
		decl = rest
	}
	for _, kw := range []string{"function", "def", "async", "export", "default", "static"} {
		decl = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(decl), kw+" "))
	}
	m := declNameRe.FindStringSubmatch(decl)
	if m == nil {
		return ""
	}
	return m[1]
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// workingLine returns line (1-based) of file in the working tree.
func (a *Analyzer) workingLine(file string, line int) (string, bool) {
	lines, ok := a.workingLines(file)
	if !ok || line <= 0 || line > len(lines) {
		return "", false
	}
	return lines[line-1], true
}

// workingLines returns the lines of a workspace file as the working tree
// has them, read once per analysis: the column, the statement and the
// function name of an incident all look at its file.
func (a *Analyzer) workingLines(file string) ([]string, bool) {
	if lines, ok := a.working[file]; ok {
		return lines, lines != nil
	}
	lines, ok := a.readWorking(file)
	a.working[file] = lines
	return lines, ok
}

// readWorking reads a workspace file from the working tree, uncached.
func (a *Analyzer) readWorking(file string) ([]string, bool) {
	if a.cfg.Root == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(a.cfg.Root, filepath.FromSlash(file)))
	if err != nil {
		return nil, false
	}
	return splitLines(b), true
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }

// sameThroughToken reports whether was and cur (lines without their
// indentation) hold the same text from their start through the token that
// begins at byte off of was: an identifier runs to its end, any other
// character is a token of one byte.
func sameThroughToken(was, cur string, off int) bool {
	if was == cur {
		return true
	}
	if off < 0 || off >= len(was) {
		return false
	}
	ident := func(c byte) bool {
		return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
	}
	end := off + 1
	for ident(was[off]) && end < len(was) && ident(was[end]) {
		end++
	}
	return len(cur) >= end && was[:end] == cur[:end] && (end == len(cur) || !ident(was[end-1]) || !ident(cur[end]))
}
