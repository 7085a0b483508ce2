package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/config"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
)

// explained is one frame with the path mapper's full answer, as
// `faultline explain --format json` prints it.
type explained struct {
	Incident string         `json:"incident,omitempty"`
	Index    int            `json:"index"` // frame number in the trace, 0 = innermost
	Language string         `json:"language"`
	Service  string         `json:"service,omitempty"`
	Frame    incident.Frame `json:"frame"`
	Result   pathmap.Result `json:"result"`
}

// runExplain shows how frames map to workspace files: every candidate file,
// the rule that chose one and why the others lost. Users run it when a
// diagnostic lands in the wrong file or none, so it must never guess: an
// ambiguous frame is reported as ambiguous.
func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the repository (workspace root)")
	frame := fs.String("frame", "", "PATH[:LINE] of one frame as printed in production; with --logs, the frame number N (0 = innermost)")
	function := fs.String("function", "", "the frame's function as printed (helps Go, Java and tie-breaks)")
	language := fs.String("language", "", "go, java, python or node (default: guessed from the file extension)")
	incidentID := fs.String("incident", "", "with --logs: explain only this incident id")
	format := fs.String("format", "text", "output format: text (markdown) or json")
	var sf sourceFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	root, cfg, err := loadWorkspace(*repo)
	if err != nil {
		return err
	}
	fromLogs := len(sf.logs) > 0 || len(sf.sources) > 0
	var items []explained
	switch {
	case fromLogs:
		items, err = explainLogs(ctx, root, cfg, &sf, *incidentID, *frame)
	case *frame != "":
		items, err = explainOne(root, cfg, *frame, *function, *language, sf.service)
	default:
		return fmt.Errorf("give --frame PATH[:LINE] or --logs FILE (see faultline explain -h)")
	}
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Frames []explained `json:"frames"`
		}{items})
	}
	for i, it := range items {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if it.Incident != "" {
			fmt.Fprintf(stdout, "## Incident %s, frame #%d\n\n", it.Incident, it.Index)
		}
		fmt.Fprint(stdout, renderExplanation(it.Language, it.Service, it.Frame, it.Result))
	}
	return nil
}

func workspaceRoot(repo string) (string, error) {
	root, err := filepath.Abs(repo)
	if err != nil {
		return "", fmt.Errorf("--repo %s: %w", repo, err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return "", fmt.Errorf("--repo %s: not a directory", repo)
	}
	return root, nil
}

// loadWorkspace resolves --repo and reads its .faultline.yaml.
func loadWorkspace(repo string) (string, config.Config, error) {
	root, err := workspaceRoot(repo)
	if err != nil {
		return "", config.Config{}, err
	}
	cfg, err := config.Load(root)
	if err != nil {
		return "", config.Config{}, err
	}
	return root, cfg, nil
}

// explainOne maps the single frame given on the command line.
func explainOne(root string, cfg config.Config, spec, function, language, service string) ([]explained, error) {
	path, line := splitFrameSpec(spec)
	if language == "" {
		language = languageOf(path)
	}
	if language == "" {
		return nil, fmt.Errorf("--language: cannot tell the language of %q; give go, java, python or node", path)
	}
	if stack.ByLanguage(language) == nil {
		return nil, fmt.Errorf("--language %q: want go, java, python or node", language)
	}
	m, err := pathmap.New(root, pathOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("index workspace %s: %w", root, err)
	}
	defer m.Close()
	f := productionFrame(language, function, path, line)
	return []explained{{Language: language, Service: service, Frame: f, Result: m.Map(language, service, f)}}, nil
}

// splitFrameSpec splits "path:line" (the line is optional; a Windows drive
// letter is not a line).
func splitFrameSpec(spec string) (string, int) {
	i := strings.LastIndexByte(spec, ':')
	if i <= 0 {
		return spec, 0
	}
	n, err := strconv.Atoi(spec[i+1:])
	if err != nil || n < 0 {
		return spec, 0
	}
	return spec[:i], n
}

func languageOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".go":
		return "go"
	case ".java", ".kt", ".kts", ".scala":
		return "java"
	case ".py":
		return "python"
	case ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx":
		return "node"
	}
	return ""
}

// productionFrame builds the frame the stack parser would have produced for
// this function and path: the frame is rendered in the runtime's own format
// and parsed back, so Package and Library are derived exactly as in
// production. When the parser refuses the rendering (a hostile or odd
// path) the bare frame is used: the mapper judges it all the same.
func productionFrame(language, function, path string, line int) incident.Frame {
	bare := incident.Frame{Function: function, Path: path, Line: line}
	if strings.ContainsAny(path+function, "\n\r") {
		return bare
	}
	p := stack.ByLanguage(language)
	if p == nil {
		return bare
	}
	tr := p.Parse(renderNative(language, function, path, line))
	if len(tr.Frames) != 1 || tr.Frames[0].Path != path {
		return bare
	}
	f := tr.Frames[0]
	f.Line = line
	if function == "" {
		f.Function = ""
	}
	return f
}

// renderNative prints one frame the way its runtime does.
func renderNative(language, function, path string, line int) []string {
	fn := function
	switch language {
	case "go":
		if fn == "" {
			fn = "main.unknown"
		}
		return []string{"goroutine 1 [running]:", fn + "()", fmt.Sprintf("\t%s:%d +0x1d", path, line)}
	case "java":
		if fn == "" {
			fn = "Unknown.unknown"
		}
		return []string{"java.lang.RuntimeException: explain", fmt.Sprintf("\tat %s(%s:%d)", fn, path, line)}
	case "python":
		if fn == "" {
			fn = "<module>"
		}
		return []string{"Traceback (most recent call last):", fmt.Sprintf("  File %q, line %d, in %s", path, line, fn), "Exception: explain"}
	default:
		if fn == "" {
			return []string{"Error: explain", fmt.Sprintf("    at %s:%d:1", path, line)}
		}
		return []string{"Error: explain", fmt.Sprintf("    at %s (%s:%d:1)", fn, path, line)}
	}
}

// explainLogs runs the analysis on the logs and explains the frames of
// every incident (or of --incident), as the pipeline mapped them.
func explainLogs(ctx context.Context, root string, cfg config.Config, sf *sourceFlags, id, frameSpec string) ([]explained, error) {
	only := -1
	if frameSpec != "" {
		n, err := strconv.Atoi(frameSpec)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--frame %q: with --logs, give the frame number (0 = innermost)", frameSpec)
		}
		only = n
	}
	incs, ws, err := analyseForExplain(ctx, root, cfg, sf)
	if err != nil {
		return nil, err
	}
	defer ws.Mapper.Close()
	var out []explained
	found := false
	for _, inc := range incs {
		if id != "" && inc.ID != id {
			continue
		}
		found = true
		for i, mf := range inc.Frames {
			if only >= 0 && i != only {
				continue
			}
			f := productionFrame(inc.Language, mf.Function, mf.OriginalPath, mf.OriginalLine)
			out = append(out, explained{Incident: inc.ID, Index: i, Language: inc.Language, Service: inc.Service,
				Frame: f, Result: ws.Mapper.Map(inc.Language, inc.Service, f)})
		}
	}
	switch {
	case id != "" && !found:
		return nil, fmt.Errorf("--incident %s: no such incident in the logs (%d found; see faultline check)", id, len(incs))
	case len(incs) == 0:
		return nil, fmt.Errorf("no incidents in the logs: nothing to explain")
	case len(out) == 0:
		return nil, fmt.Errorf("--frame %d: no incident has that many frames", only)
	}
	return out, nil
}

// analyseForExplain runs the same pipeline as `faultline check`.
func analyseForExplain(ctx context.Context, root string, cfg config.Config, sf *sourceFlags) ([]incident.Incident, *analysis.Workspace, error) {
	cfg, flagDeploys, err := sf.configure(cfg)
	if err != nil {
		return nil, nil, err
	}
	labels, err := sf.defaultLabels()
	if err != nil {
		return nil, nil, err
	}
	srcs, deploys, problems := buildSources(root, cfg, labels)
	if len(srcs) == 0 && len(problems) > 0 {
		return nil, nil, fmt.Errorf("%s: %w", problems[0].name, problems[0].err)
	}
	ws, err := analysis.OpenWorkspace(root, pathOptions(cfg))
	if err != nil {
		return nil, nil, err
	}
	res, _, err := ws.Run(ctx, srcs, windowQuery(sf), append(deploys, flagDeploys...))
	if err != nil {
		ws.Mapper.Close()
		return nil, nil, err
	}
	return res.Incidents, ws, nil
}

// windowQuery is check's time window: files are read whole unless a window
// is given; backends are queried over --since.
func windowQuery(sf *sourceFlags) telemetry.Query {
	if len(sf.sources) == 0 && sf.start == "" && sf.end == "" {
		return telemetry.Query{Selector: sf.selector}
	}
	q, err := sf.query(time.Now())
	if err != nil {
		return telemetry.Query{Selector: sf.selector}
	}
	return q
}

// explainFrame is the markdown answer of the LSP command
// faultline.explainFrame: how f maps into the workspace at root. It indexes
// the workspace for this one answer; a caller holding a Mapper should call
// renderExplanation with its own Map result instead.
func explainFrame(root string, opt pathmap.Options, language, service string, f incident.Frame) string {
	m, err := pathmap.New(root, opt)
	if err != nil {
		return fmt.Sprintf("**Cannot explain this frame:** %s\n", mdText(err.Error()))
	}
	defer m.Close()
	if f.Package == "" && !f.Library {
		pf := productionFrame(language, f.Function, f.Path, f.Line)
		pf.Column = f.Column
		f = pf
	}
	return renderExplanation(language, service, f, m.Map(language, service, f))
}

// ruleNames says in words what each pathmap rule means.
var ruleNames = map[string]string{
	pathmap.RuleConfig:      "a path rule configured in .faultline.yaml",
	pathmap.RuleServiceDir:  "the service's folder",
	pathmap.RuleGoModule:    "the Go module path in go.mod",
	pathmap.RuleJavaPackage: "the Java/Kotlin package declaration",
	pathmap.RuleSourceRoot:  "a source root",
	pathmap.RuleNodePackage: "a workspace package installed into node_modules",
	pathmap.RuleSuffix:      "the longest matching path suffix",
	pathmap.RuleSymbol:      "the only candidate defining the function",
	pathmap.RuleLibrary:     "runtime or third-party code",
}

// renderExplanation writes the mapper's answer for one frame as markdown:
// the verdict first (mapped, ambiguous, library, not mapped), then every
// candidate with why it won or lost.
func renderExplanation(language, service string, f incident.Frame, r pathmap.Result) string {
	var b strings.Builder
	where := mdCode(f.Path)
	if f.Line > 0 {
		where = mdCode(fmt.Sprintf("%s:%d", f.Path, f.Line))
	}
	fmt.Fprintf(&b, "**Frame** %s", where)
	if f.Function != "" {
		fmt.Fprintf(&b, " in %s", mdCode(f.Function))
	}
	ctx := []string{language}
	if service != "" {
		ctx = append(ctx, "service "+mdText(service))
	}
	fmt.Fprintf(&b, " (%s)\n\n", strings.Join(ctx, ", "))
	rule := ruleNames[r.Rule]
	switch {
	case r.Ambiguous:
		fmt.Fprintf(&b, "**Ambiguous:** no file chosen. %s\n", mdText(r.Reason))
	case r.File != "" && r.Rule == pathmap.RuleLibrary:
		fmt.Fprintf(&b, "**Library code** (rule `%s`: %s), copy at %s. %s\n", r.Rule, rule, mdCode(r.File), mdText(r.Reason))
	case r.File != "":
		fmt.Fprintf(&b, "**Mapped to** %s by rule `%s` (%s). %s\n", mdCode(r.File), r.Rule, rule, mdText(r.Reason))
		if !r.InApp {
			b.WriteString("\nThe file is not application code: the frame is not used as the incident's location.\n")
		}
	case r.Rule == pathmap.RuleLibrary:
		fmt.Fprintf(&b, "**Library code** (rule `%s`: %s), not mapped. %s\n", r.Rule, rule, mdText(r.Reason))
	default:
		fmt.Fprintf(&b, "**Not mapped.** %s\n", mdText(r.Reason))
		b.WriteString("\nIf the file is in this workspace, add a `path_rules` entry to .faultline.yaml (`faultline mappings` prints the rules it can derive).\n")
	}
	if len(r.Candidates) == 0 {
		b.WriteString("\nNo candidate file was considered.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "\n%d candidate file(s):\n\n", len(r.Candidates))
	b.WriteString("| File | Shared suffix | Defines function | Verdict |\n|---|---|---|---|\n")
	for _, c := range r.Candidates {
		sym := "no"
		if c.HasSymbol {
			sym = "yes"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", mdCodeCell(c.File), c.SuffixLen, sym, mdCell(c.Why))
	}
	return b.String()
}

// mdText makes untrusted text (frame paths, function names) safe as
// markdown prose: no control characters, no markup.
func mdText(s string) string {
	s = sanitize(s)
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "|", `\|`)
	return r.Replace(s)
}

// mdCode puts untrusted text in a code span that it cannot close.
func mdCode(s string) string {
	return "`" + strings.ReplaceAll(sanitize(s), "`", "'") + "`"
}

// mdCodeCell is mdCode inside a table row, where "|" would end the cell.
func mdCodeCell(s string) string { return strings.ReplaceAll(mdCode(s), "|", `\|`) }

func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "\n", " ") }

// explainIncidentFrame is the language server's faultline.explainFrame: how
// one frame of an incident maps into root, with every candidate considered.
func explainIncidentFrame(root string, cfg config.Config, inc incident.Incident, frame int) string {
	if frame < 0 || frame >= len(inc.Frames) {
		return ""
	}
	mf := inc.Frames[frame]
	f := productionFrame(inc.Language, mf.Function, mf.OriginalPath, mf.OriginalLine)
	return explainFrame(root, pathOptions(cfg), inc.Language, inc.Service, f)
}
