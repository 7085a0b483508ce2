package analysis

import (
	"context"
	"fmt"
	"strings"

	"github.com/faultline-dev/faultline/incident"
)

// When nothing names the deployed commit (no deploy event with a commit, a
// version label no tag or sha matches), the lines are shown as printed,
// which is right only while the checkout has not moved them. A printed
// line that falls outside the function its frame names cannot be the
// failing statement there; then the trace itself says which commit ran:
// the newest commit of HEAD's first-parent history (the line a main
// branch deploys from) at which every frame's printed line lies inside
// the function it names. The lines are carried from that commit and
// blamed there, with a note saying the commit was inferred.
//
// A checkout whose lines still fit their functions keeps them as printed:
// the inference never moves a line that could be right.

// maxInferCommits bounds how far back the inference looks.
const maxInferCommits = 500

// inferFrame is a frame the inference can test: mapped, in the
// application, with a printed line and a function the working file
// declares exactly once.
type inferFrame struct {
	path string // repo-relative, as mapped in the working tree
	line int    // as printed
	fn   string // the bare function name
}

// inferDeployed returns the commit inferred as deployed for frames (mapped
// without a deployed commit), and the note saying so; "" when the working
// tree fits every frame or no commit within reach does.
func (a *Analyzer) inferDeployed(ctx context.Context, lang string, frames []incident.MappedFrame) (string, string) {
	if a.cfg.Repo == nil || declRe[lang] == nil {
		return "", ""
	}
	var tests []inferFrame
	misfit := false
	for _, f := range frames {
		if !f.Mapped || !f.InApp || f.OriginalLine <= 0 || f.RepoPathAtDeploy == "" {
			continue
		}
		fn := shortFunction(f.Function)
		lines, ok := a.workingLines(f.RepoPathAtDeploy)
		if fn == "" || !ok || len(declsOf(lang, lines, fn)) != 1 {
			continue // nothing to test the line against
		}
		tests = append(tests, inferFrame{f.RepoPathAtDeploy, f.OriginalLine, fn})
		if !lineInFunction(lang, lines, f.OriginalLine, fn) {
			misfit = true
		}
	}
	if !misfit {
		return "", ""
	}
	commits, err := a.cfg.Repo.FirstParents(ctx, "HEAD", maxInferCommits)
	if err != nil && len(commits) == 0 {
		return "", ""
	}
	fits := map[string]bool{} // per content and frame
	for _, c := range commits {
		all := true
		for _, t := range tests {
			lines, id, err := a.cfg.Repo.LinesAt(ctx, c, t.path)
			if err != nil {
				all = false
				break
			}
			key := fmt.Sprintf("%s:%d:%s", id, t.line, t.fn)
			fit, seen := fits[key]
			if !seen {
				fit = lineInFunction(lang, lines, t.line, t.fn)
				fits[key] = fit
			}
			if !fit {
				all = false
				break
			}
		}
		if all {
			return c, fmt.Sprintf("deployed commit inferred: nothing names the running version, and %s is the newest commit whose functions hold every printed line", shortSHA(c))
		}
	}
	return "", ""
}

// lineInFunction reports whether line (1-based) of lines lies in the body
// of a function named fn.
func lineInFunction(lang string, lines []string, line int, fn string) bool {
	_, _, decl, ok := funcExtent(lang, lines, line)
	return ok && declName(lang, decl) == fn
}

// declsOf returns the 1-based lines of lines that declare fn.
func declsOf(lang string, lines []string, fn string) []int {
	re := declRe[lang]
	var at []int
	for i, l := range lines {
		if re.MatchString(l) && !notDeclRe.MatchString(l) && declName(lang, strings.TrimSpace(l)) == fn {
			at = append(at, i+1)
		}
	}
	return at
}
