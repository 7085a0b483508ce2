package pullrequest

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/ansi"
)

// maxDiffInBody bounds the diff quoted in the pull-request body: GitHub
// refuses bodies over 65,536 characters, and the commit holds the full diff.
const maxDiffInBody = 40000

// maxTitle keeps titles readable in GitHub's lists; the body has the rest.
const maxTitle = 120

// subject is the first line of the commit message and the PR title:
// "fix: <error type> in <file> (faultline incident <id>)".
func subject(inc incident.Incident) string {
	errType := oneLine(inc.ErrorType)
	if errType == "" {
		errType = "production error"
	}
	where := ""
	if inc.Location != nil && inc.Location.File != "" {
		where = " in " + oneLine(inc.Location.File)
	}
	tail := fmt.Sprintf(" (faultline incident %s)", truncate(oneLine(inc.ID), 40))
	head := "fix: " + errType + where
	if n := maxTitle - len(tail); len(head) > n {
		head = truncate(head, n)
	}
	return head + tail
}

// commitMessage cites the incident: subject, then counts, deploy, suspect
// commit, trace ids and the root-cause note as plain text.
func commitMessage(inc incident.Incident, fix incident.Fix) string {
	var b strings.Builder
	b.WriteString(subject(inc))
	b.WriteString("\n\n")
	for _, f := range facts(inc) {
		fmt.Fprintf(&b, "%s: %s\n", f.label, f.value)
	}
	if rc := inc.RootCause; rc != nil && rc.Summary != "" {
		fmt.Fprintf(&b, "\nRoot cause (confidence %.0f%%): %s\n", rc.Confidence*100, oneLine(rc.Summary))
	}
	if fix.Source != "" {
		fmt.Fprintf(&b, "\nFix: %s (%s)\n", oneLine(fix.Title), oneLine(fix.Source))
	}
	fmt.Fprintf(&b, "\nFaultline-Incident: %s\n", oneLine(inc.ID))
	return b.String()
}

// fact is one labelled value; code facts (paths, versions, ids) render as
// inline code in the pull request, the rest as escaped prose.
type fact struct {
	label, value string
	code         bool
}

// facts are the incident's key numbers, as plain single-line text.
func facts(inc incident.Incident) []fact {
	var fs []fact
	add := func(label, value string) {
		if value = oneLine(value); value != "" {
			fs = append(fs, fact{label: label, value: value})
		}
	}
	code := func(label, value string) {
		if value = oneLine(value); value != "" {
			fs = append(fs, fact{label: label, value: value, code: true})
		}
	}
	add("Error", inc.Message)
	if inc.Location != nil {
		code("Location", strings.TrimSpace(fmt.Sprintf("%s:%d %s", inc.Location.File, inc.Location.Line, inc.Location.Function)))
	}
	svc := strings.Trim(inc.Service+" / "+inc.Env, " /")
	add("Service", svc)
	if inc.Count > 0 {
		add("Occurrences", fmt.Sprintf("%d between %s and %s", inc.Count, stamp(inc.FirstSeen), stamp(inc.LastSeen)))
	}
	code("Versions", strings.Join(inc.Versions, ", "))
	if d := inc.Deploy; d != nil {
		add("Deploy", strings.TrimSpace(fmt.Sprintf("%s of %s at %s %s", d.Version, d.Service, stamp(d.Time), shortSHA(d.Commit))))
	}
	if rc := inc.RootCause; rc != nil && rc.SuspectCommit != nil {
		c := rc.SuspectCommit
		add("Suspect commit", fmt.Sprintf("%s %s (%s)", shortSHA(c.SHA), c.Summary, c.Author))
	}
	code("Traces", strings.Join(inc.TraceIDs, ", "))
	return fs
}

// prBody renders the pull-request description in GitHub Markdown. Every
// piece of log-derived text is either escaped (mdText) or fenced (mdFence)
// so that nothing a production log contains renders as HTML, a link, an
// image or a mention.
func prBody(inc incident.Incident, fix incident.Fix, incidentURL string) string {
	return changeBody("pull request", inc, fix, incidentURL)
}

// changeBody is prBody naming the change as its forge does ("merge
// request" on GitLab). GitHub, GitLab and Gitea read the same Markdown, and
// the escaping also keeps GitLab's !, ~ and # references inert.
func changeBody(noun string, inc incident.Incident, fix incident.Fix, incidentURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Faultline opened this %s for production incident %s.\n\n", noun, mdCode(inc.ID))
	b.WriteString("### Incident\n\n")
	for _, f := range facts(inc) {
		if f.label == "Error" {
			continue
		}
		v := mdText(f.value)
		if f.code {
			v = mdCode(f.value)
		}
		fmt.Fprintf(&b, "- **%s:** %s\n", f.label, v)
	}
	b.WriteString("\n**Error**\n\n")
	b.WriteString(mdFence("text", clean(firstN(inc.Message, 4000))))
	if frames := inAppFrames(inc); frames != "" {
		b.WriteString("\n**In-app stack** (innermost first)\n\n")
		b.WriteString(mdFence("text", frames))
	}
	if rc := inc.RootCause; rc != nil {
		fmt.Fprintf(&b, "\n### Root cause (confidence %.0f%%)\n\n", rc.Confidence*100)
		if rc.Summary != "" {
			b.WriteString(mdText(rc.Summary) + "\n")
		}
		if len(rc.Evidence) > 0 {
			b.WriteString("\n**Evidence**\n\n")
			for _, e := range rc.Evidence {
				fmt.Fprintf(&b, "- **%s:** %s\n", mdText(e.Kind), mdText(e.Text))
			}
		}
	}
	b.WriteString("\n### The fix\n\n")
	meta := []string{}
	if fix.Title != "" {
		meta = append(meta, mdText(fix.Title))
	}
	if fix.Source != "" {
		meta = append(meta, "source "+mdCode(fix.Source))
	}
	if fix.Validated {
		meta = append(meta, "validated (applies and builds)")
	} else {
		meta = append(meta, "**not validated**: review carefully")
	}
	b.WriteString(strings.Join(meta, "; ") + "\n\n")
	diff := fix.Diff
	if len(diff) > maxDiffInBody {
		diff = truncate(diff, maxDiffInBody) + "\n... (diff truncated; the commit has all of it)"
	}
	b.WriteString(mdFence("diff", strings.TrimRight(diff, "\n")))
	if link := safeLink(incidentURL); link != "" {
		fmt.Fprintf(&b, "\n[View the incident in Faultline](%s)\n", link)
	}
	fmt.Fprintf(&b, "\n<!-- faultline-incident: %s -->\n", refSafe(inc.ID))
	return b.String()
}

// inAppFrames lists up to ten in-app frames, one per line.
func inAppFrames(inc incident.Incident) string {
	var lines []string
	for _, f := range inc.Frames {
		if !f.InApp {
			continue
		}
		lines = append(lines, oneLine(fmt.Sprintf("%s  %s:%d", f.Function, f.File, f.Line)))
		if len(lines) == 10 {
			break
		}
	}
	return strings.Join(lines, "\n")
}

// mdText escapes text for Markdown prose: HTML metacharacters become
// entities, inline Markdown punctuation is backslash-escaped (and what
// would start a list, heading or rule at the start of a line), @ cannot
// start a mention, and control characters and line breaks are dropped.
func mdText(s string) string {
	var b strings.Builder
	digits := true // only digits so far: "1." would start a list
	for i, r := range oneLine(s) {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '@':
			b.WriteString("@<!-- -->")
		case strings.ContainsRune("\\`*_{}[]()#!|~", r),
			i == 0 && strings.ContainsRune("-+=", r),
			i > 0 && digits && (r == '.' || r == ')'):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		digits = digits && r >= '0' && r <= '9'
	}
	return b.String()
}

// mdCode renders s as an inline code span, whose content GitHub never
// interprets; the delimiter is longer than any backtick run inside.
func mdCode(s string) string {
	s = oneLine(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdFence renders a fenced code block that content cannot close: the fence
// is longer than any backtick run in it.
func mdFence(lang, content string) string {
	n := max(3, longestRun(content, '`')+1)
	fence := strings.Repeat("`", n)
	return fence + lang + "\n" + content + "\n" + fence + "\n"
}

func longestRun(s string, c rune) int {
	best, cur := 0, 0
	for _, r := range s {
		if r == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// safeLink returns u fit for a Markdown link target, or "" when it is not
// an absolute http(s) URL. Parentheses and spaces are percent-encoded so
// the link cannot be cut short.
func safeLink(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	p.User = nil
	s := p.String()
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace(s)
}

// clean drops control characters (ANSI escapes included) but keeps line
// breaks and tabs.
func clean(s string) string {
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (unicode.Is(unicode.Cf, r) && r != '\u200d') {
			return -1
		}
		return r
	}, strings.ReplaceAll(s, "\r\n", "\n"))
}

// oneLine is clean with line breaks and tabs turned into spaces.
func oneLine(s string) string {
	s = strings.NewReplacer("\n", " ", "\t", " ").Replace(clean(s))
	return strings.TrimSpace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func firstN(s string, n int) string { return truncate(s, n) }

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}
