package analysis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/incident"
)

// Suspect scoring. Deterministic and explainable: every point has a reason
// the hover and the JSON show. A commit's score is its strongest code signal
// (the failing line, the failing function, a calling line), adjusted by
// whether it shipped in the deploy before the errors started.
const (
	scoreCrashLine   = 0.50  // last changed the line that fails
	scoreCallerLine  = 0.20  // last changed a calling line in the stack
	scoreInDeploy    = 0.35  // shipped in the deploy right before first_seen
	scorePreexisting = -0.25 // already running before that deploy
	scoreFunction    = 0.30  // changed the failing function in that deploy
	scoreFile        = 0.15  // changed the failing file (not the function) in that deploy
	scoreReindent    = 0.30  // changed only the failing line's white space
	maxDeployCommits = 50    // commits of one deploy examined for the function signal
	suspectFrames    = 3     // in-app frames whose lines are blamed
)

// rootCause writes the assessment for an incident: the category, the suspect
// commits with their reasons, and a summary with a confidence.
func (a *Analyzer) rootCause(ctx context.Context, inc *incident.Incident, head string) *incident.RootCause {
	rc := &incident.RootCause{Evidence: []incident.Evidence{}, Fixable: true, Category: "code"}
	if inc.Deploy != nil {
		rc.Evidence = append(rc.Evidence, incident.Evidence{Kind: "deploy", Text: deployText(inc)})
	}
	if what, infra := isInfrastructure(inc.Message + " " + inc.ErrorType); infra {
		rc.Category = "infrastructure"
		rc.Fixable = false
		rc.Summary = fmt.Sprintf("dependency failure: %s (%s); infrastructure, not fixable in code", firstLineOf(inc.Message), what)
		rc.Confidence = 0.7
		return rc
	}
	if sha := a.missingDeployCommit(ctx, inc); sha != "" {
		// Production's line numbers are the deployed commit's, and HEAD's
		// differ wherever the file changed since: blaming HEAD at them
		// names whoever wrote an unrelated line. Say what is missing.
		rc.Evidence = append(rc.Evidence, incident.Evidence{Kind: "history",
			Text: fmt.Sprintf("the deployed commit %s is not in this repository (a shallow clone, or a branch not fetched): no blame without it; git fetch --unshallow, or fetch the branch it was built from", shortSHA(sha))})
	} else {
		rc.Suspects = a.suspects(ctx, inc, head)
	}
	if len(rc.Suspects) > 0 {
		s := rc.Suspects[0]
		c := s.Commit
		rc.SuspectCommit = &c
		rc.Evidence = append(rc.Evidence, incident.Evidence{Kind: "history",
			Text: fmt.Sprintf("%s %q by %s: %s", shortSHA(c.SHA), c.Summary, c.Author, strings.Join(s.Reasons, "; "))})
	}
	rc.Summary, rc.Confidence = summarize(inc, rc.Suspects)
	if inc.Location == nil {
		rc.Summary += " No frame maps into this workspace."
		rc.Confidence *= 0.5
	} else if inc.Location.Status == "deleted" {
		rc.Summary += " The failing statement no longer exists at HEAD: it may already be fixed."
	}
	return rc
}

// missingDeployCommit returns the commit the deploy before the incident
// names when the deployed commit is unknown because this repository lacks
// that commit; "" otherwise.
func (a *Analyzer) missingDeployCommit(ctx context.Context, inc *incident.Incident) string {
	if a.cfg.Repo == nil || inc.DeployedCommit != "" || inc.Deploy == nil || inc.Deploy.Commit == "" {
		return ""
	}
	if _, err := a.cfg.Repo.Resolve(ctx, inc.Deploy.Commit); err == nil {
		return ""
	}
	return inc.Deploy.Commit
}

func deployText(inc *incident.Incident) string {
	d := inc.Deploy
	gap := inc.FirstSeen.Sub(d.Time).Round(time.Second)
	s := fmt.Sprintf("first seen %s, %s after deploy %s", inc.FirstSeen.Format(time.RFC3339), gap, deployLabel(d))
	if d.Commit != "" && d.Version != "" {
		s += " (" + shortSHA(d.Commit) + ")"
	}
	return s
}

func summarize(inc *incident.Incident, suspects []incident.Suspect) (string, float64) {
	if len(suspects) == 0 {
		return fmt.Sprintf("%s: no commit could be tied to it (no git history for the failing lines).", inc.ErrorType), 0.2
	}
	s := suspects[0]
	who := fmt.Sprintf("%s %q", shortSHA(s.SHA), s.Summary)
	if s.PickedFrom != "" {
		who += " (cherry-picked from " + shortSHA(s.PickedFrom) + ")"
	}
	conf := s.Score
	if conf > 0.95 {
		conf = 0.95
	}
	if conf < 0.1 {
		conf = 0.1
	}
	shipped := hasReason(s, "shipped in deploy")
	switch {
	case shipped && hasReason(s, "changed the line that fails"):
		return fmt.Sprintf("introduced by %s in deploy %s: it changed the line that fails.", who, deployLabel(inc.Deploy)), conf
	case shipped && hasReason(s, "wrote the line that fails"):
		return fmt.Sprintf("introduced by %s in deploy %s: it wrote the line that fails.", who, deployLabel(inc.Deploy)), conf
	case shipped:
		return fmt.Sprintf("likely introduced by %s in deploy %s: it changed code on the failing path.", who, deployLabel(inc.Deploy)), conf
	case hasReason(s, "already running"):
		return fmt.Sprintf("pre-existing: the failing line dates from %s, shipped before the last deploy; a change in data or traffic likely exposed it.", who), conf
	}
	return fmt.Sprintf("the failing line was last changed by %s.", who), conf
}

func hasReason(s incident.Suspect, prefix string) bool {
	for _, r := range s.Reasons {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// suspects blames the top in-app lines at the deployed commit (HEAD when it is
// unknown) and weighs each commit by whether it shipped in the deploy right
// before the incident started.
func (a *Analyzer) suspects(ctx context.Context, inc *incident.Incident, head string) []incident.Suspect {
	if a.cfg.Repo == nil {
		return nil
	}
	at := inc.DeployedCommit
	if at == "" {
		at = head
	}
	if at == "" {
		return nil
	}
	byCommit := map[string]*incident.Suspect{}
	var order []string
	n := 0
	from := locationIndex(inc) // a stack overflow's location is below its top frames
	blamed := map[string]bool{}
	for _, f := range inc.Frames[from:] {
		if !f.InApp || !f.Mapped || f.OriginalLine <= 0 {
			continue
		}
		// A recursion repeats its lines: each is blamed (and named in the
		// reasons) once. A repeat still takes its place among the frames
		// blamed: a caller further down, changed by the last deploy, is
		// no likelier the cause because the failing line recurs.
		if k := f.RepoPathAtDeploy + ":" + strconv.Itoa(f.OriginalLine); blamed[k] {
			if n++; n == suspectFrames {
				break
			}
			continue
		} else {
			blamed[k] = true
		}
		path := f.RepoPathAtDeploy
		if at == head && inc.DeployedCommit == "" {
			path = f.File
		}
		c, err := a.cfg.Repo.Blame(ctx, at, path, f.OriginalLine)
		if err == nil && c.SHA != "" {
			suspect := func(c incident.Commit) *incident.Suspect {
				s := byCommit[c.SHA]
				if s == nil {
					s = &incident.Suspect{Commit: c}
					byCommit[c.SHA] = s
					order = append(order, c.SHA)
				}
				return s
			}
			if n == 0 {
				// A commit that only re-indented the failing line (a block
				// opened or closed around it) is weighed apart from the one
				// that wrote its text: either may be the cause, a removed
				// guard re-indents the line it guarded.
				if w, err := a.cfg.Repo.BlameText(ctx, at, path, f.OriginalLine); err == nil && w.SHA != "" && w.SHA != c.SHA {
					s := suspect(w)
					s.Score = max(s.Score, scoreCrashLine)
					s.Reasons = append(s.Reasons, fmt.Sprintf("wrote the line that fails (%s:%d), re-indented since by %s", path, f.OriginalLine, shortSHA(c.SHA)))
					s = suspect(c)
					s.Score = max(s.Score, scoreReindent)
					s.Reasons = append(s.Reasons, fmt.Sprintf("changed only the indentation of the line that fails (%s:%d)", path, f.OriginalLine))
				} else {
					s := suspect(c)
					s.Score = max(s.Score, scoreCrashLine)
					s.Reasons = append(s.Reasons, fmt.Sprintf("changed the line that fails (%s:%d)", path, f.OriginalLine))
				}
			} else {
				s := suspect(c)
				s.Score = max(s.Score, scoreCallerLine)
				s.Reasons = append(s.Reasons, fmt.Sprintf("changed a calling line (%s:%d in %s)", path, f.OriginalLine, f.Function))
			}
		}
		if n++; n == suspectFrames {
			break
		}
	}
	if inc.Deploy != nil {
		a.weighDeploy(ctx, inc, byCommit)
	}
	var extra []string // commits found by the deploy signals alone
	for sha := range byCommit {
		if !contains(order, sha) {
			extra = append(extra, sha)
		}
	}
	sort.Strings(extra) // map order must not leak into the output
	order = append(order, extra...)
	out := make([]incident.Suspect, 0, len(order))
	for _, sha := range order {
		s := *byCommit[sha]
		s.Score = float64(int(s.Score*100+0.5)) / 100
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// locationIndex is the index of the frame the incident's location names
// (0 when none does).
func locationIndex(inc *incident.Incident) int {
	if l := inc.Location; l != nil {
		for i, f := range inc.Frames {
			if f.InApp && f.Mapped && f.File == l.File && f.Line == l.Line {
				return i
			}
		}
	}
	return 0
}

// weighDeploy adds the deploy signal: a commit in the range the deploy before
// first_seen shipped is far more likely the cause than one that had been
// running without this error before.
func (a *Analyzer) weighDeploy(ctx context.Context, inc *incident.Incident, byCommit map[string]*incident.Suspect) {
	d := inc.Deploy
	shipped, ok := a.commitOf(ctx, d)
	if !ok {
		return
	}
	label := deployLabel(d)
	var before string
	if run, newer := a.unrecordedDeploy(ctx, inc, shipped); newer {
		// What ran when the errors started is newer than the last deploy
		// event before them: a deploy the events do not record shipped
		// it on top of d, and d's commits had been running already.
		before, shipped, label = shipped, run, runningLabel(inc, run)
	} else if p := previousDeploy(a.cfg.Deploys, d); p != nil {
		before, _ = a.commitOf(ctx, p)
	}
	if before != "" {
		a.functionChanges(ctx, inc, before, shipped, byCommit)
	}
	for sha, s := range byCommit {
		in, err := a.cfg.Repo.IsAncestor(ctx, sha, shipped)
		if err != nil || !in {
			continue
		}
		if before != "" {
			old, err := a.cfg.Repo.IsAncestor(ctx, sha, before)
			if err == nil && old {
				s.Score += scorePreexisting
				s.Reasons = append(s.Reasons, "already running before deploy "+label)
				continue
			}
		}
		if before != "" || inc.FirstSeen.After(d.Time) {
			s.Score += scoreInDeploy
			s.Reasons = append(s.Reasons, "shipped in deploy "+label+" right before the errors started")
		}
	}
}

// unrecordedDeploy returns the commit the incident ran (its version label's)
// and true when it descends from shipped, the commit of the last deploy
// event before the errors, without being it: the events miss the deploy
// that shipped it (a CD system that reports some deploys, an image rolled
// out by hand), and weighing shipped's range would credit commits that had
// been running without this error.
func (a *Analyzer) unrecordedDeploy(ctx context.Context, inc *incident.Incident, shipped string) (string, bool) {
	run := inc.DeployedCommit
	if run == "" || run == shipped {
		return "", false
	}
	newer, err := a.cfg.Repo.IsAncestor(ctx, shipped, run)
	return run, err == nil && newer
}

// runningLabel names the version an incident ran: its only version label,
// else the commit's short sha, with a note that no deploy event names it.
func runningLabel(inc *incident.Incident, run string) string {
	if len(inc.Versions) == 1 {
		return inc.Versions[0] + " (no deploy event)"
	}
	return shortSHA(run) + " (no deploy event)"
}

// commitOf resolves a deploy to a commit: its commit field, else its version.
func (a *Analyzer) commitOf(ctx context.Context, d *incident.Deploy) (string, bool) {
	refs := append([]string{d.Commit}, versionRefs(d.Service, d.Version)...)
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if sha, err := a.cfg.Repo.Resolve(ctx, ref); err == nil {
			return sha, true
		}
	}
	return "", false
}

// correlateWindow is how close two incidents of one service must start to
// count as related.
const correlateWindow = 10 * time.Minute

// correlate adds "errors" evidence: other incidents of the same service that
// started within the window, which often share a cause.
func correlate(incs []incident.Incident) {
	for i := range incs {
		a := &incs[i]
		if a.RootCause == nil {
			continue
		}
		var related []string
		for j := range incs {
			b := &incs[j]
			if i == j || b.Service != a.Service || b.Env != a.Env {
				continue
			}
			d := a.FirstSeen.Sub(b.FirstSeen)
			if d < 0 {
				d = -d
			}
			if d <= correlateWindow {
				related = append(related, fmt.Sprintf("%s (%dx, %s)", firstLineOf(b.Message), b.Count, b.ID))
			}
		}
		if len(related) > 0 {
			if len(related) > 3 {
				related = append(related[:3], fmt.Sprintf("and %d more", len(related)-3))
			}
			a.RootCause.Evidence = append(a.RootCause.Evidence, incident.Evidence{Kind: "errors",
				Text: "started within 10m in the same service: " + strings.Join(related, "; ")})
		}
	}
}

// functionChanges finds the commits of the deploy range (before, shipped]
// that changed the function holding the failing line, or else its file.
// Blame cannot see a removed line (a dropped lock, a deleted nil check), so
// a commit that only deleted code in the failing function is found here;
// nor a change to what the line reads (a table grown past the slice it
// indexes, a constant), which is most often made in the same file.
func (a *Analyzer) functionChanges(ctx context.Context, inc *incident.Incident, before, shipped string, byCommit map[string]*incident.Suspect) {
	var top *incident.MappedFrame
	for i := locationIndex(inc); i < len(inc.Frames); i++ {
		if f := &inc.Frames[i]; f.InApp && f.Mapped && f.OriginalLine > 0 {
			top = f
			break
		}
	}
	if top == nil || top.RepoPathAtDeploy == "" {
		return
	}
	path := top.RepoPathAtDeploy
	src, err := a.cfg.Repo.FileAt(ctx, shipped, path)
	if err != nil {
		return
	}
	_, _, decl, hasDecl := funcExtent(inc.Language, splitLines(src), top.OriginalLine)
	commits, err := a.cfg.Repo.Commits(ctx, before, shipped)
	if err != nil || len(commits) > maxDeployCommits {
		return
	}
	for _, c := range commits {
		// Each commit against its own parent: with merges in the range the
		// list is not a chain. A merge commit is left out: it repeats the
		// changes of the branch it merged, whose commits are in the list.
		if len(c.Parents) != 1 {
			continue
		}
		file, fn := a.changedFunction(ctx, c.Parents[0], c.SHA, path, inc.Language, decl)
		if !file && !fn {
			continue
		}
		s := byCommit[c.SHA]
		if s == nil {
			s = &incident.Suspect{Commit: c}
			byCommit[c.SHA] = s
		}
		if hasDecl && fn {
			s.Score = max(s.Score, scoreFunction)
			s.Reasons = append(s.Reasons, fmt.Sprintf("changed the failing function (%s: %s)", path, decl))
		} else {
			s.Score = max(s.Score, scoreFile)
			s.Reasons = append(s.Reasons, fmt.Sprintf("changed the failing file (%s)", path))
		}
	}
}

// changedFunction reports whether the change parent→commit changed path
// (changed or removed a line of it: a commit that only added code, a new
// function below the failing one, cannot have changed what the failing
// line does unless it added it to the failing function), and whether it
// touched the function whose declaration line is decl.
func (a *Analyzer) changedFunction(ctx context.Context, parent, commit, path, lang, decl string) (file, fn bool) {
	newB, err := a.cfg.Repo.FileAt(ctx, commit, path)
	if err != nil {
		return false, false
	}
	oldB, err := a.cfg.Repo.FileAt(ctx, parent, path)
	if err != nil || string(oldB) == string(newB) {
		added := err != nil && len(newB) > 0 // a new file holding the function counts
		return added, added
	}
	oldL, newL := splitLines(oldB), splitLines(newB)
	lineMap := gitrepo.LineMap(oldL, newL)
	file = slices.Contains(lineMap[1:], 0)
	if decl == "" {
		return file, false
	}
	at := -1
	for i, l := range newL {
		if strings.TrimSpace(l) == decl {
			at = i + 1
			break
		}
	}
	if at < 0 {
		return file, false
	}
	start, end, _, ok := funcExtent(lang, newL, at+1)
	if !ok {
		return file, false
	}
	touched := touchedLines(lineMap, len(newL))
	for n := start; n <= end; n++ {
		if touched[n] {
			return true, true
		}
	}
	return file, false
}

func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
