// Package analysis turns log events into incidents: it reassembles and parses
// stack traces, groups them, maps every frame to the workspace file and the
// line at HEAD, names suspect commits and writes a root-cause note.
//
// It works in repo-relative paths and 1-based lines; only package lsp knows
// about URIs and UTF-16. Git access goes through the small Repo interface
// (implemented by package gitrepo) so the logic can be tested without a
// repository, and a workspace that is not a git repository still gets
// incidents, only without line drift and suspects.
package analysis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis/gitrepo"
	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/telemetry"
)

// Repo is what the analysis needs from git. *gitrepo.Repo implements it.
type Repo interface {
	Head(ctx context.Context) (string, error)
	Resolve(ctx context.Context, version string) (string, error)
	CarryLine(ctx context.Context, from, path string, line int) (gitrepo.Carry, error)
	Blame(ctx context.Context, at, path string, line int) (incident.Commit, error)
	// BlameText is Blame looking through white-space-only changes.
	BlameText(ctx context.Context, at, path string, line int) (incident.Commit, error)
	IsAncestor(ctx context.Context, a, b string) (bool, error)
	ChangedFiles(ctx context.Context, from, to string) ([]string, error)
	Commits(ctx context.Context, from, to string) ([]incident.Commit, error)
	FileAt(ctx context.Context, commit, path string) ([]byte, error)
	// FirstParents lists up to max commits of from's first-parent history.
	FirstParents(ctx context.Context, from string, max int) ([]string, error)
	// LinesAt returns path's lines at commit and an identity of the content.
	LinesAt(ctx context.Context, commit, path string) ([]string, string, error)
}

// PathMapper maps a frame to a workspace file. *pathmap.Mapper implements it.
type PathMapper interface {
	Map(language, service string, f incident.Frame) pathmap.Result
}

// Config is what an analysis needs besides the events.
type Config struct {
	// Root is the workspace folder; the files there (HEAD plus uncommitted
	// edits) are what locations point into.
	Root    string
	Mapper  PathMapper
	Repo    Repo // nil when the workspace is not a git repository
	Deploys []incident.Deploy
	// Enrichers add evidence from metrics and trace backends.
	Enrichers []Enricher
}

// Analyzer accumulates events and produces incidents. Feed it with Add from
// one goroutine, then call Incidents. Memory is bounded by the number of
// distinct incidents (and open trace blocks), not by the number of events.
type Analyzer struct {
	cfg    Config
	reasm  *reassemble.Reassembler
	groups map[string]*group
	order  []string
	events int
	trees  map[string][]string // files of a deployed commit, for moved files
	// working holds the working tree's files read while building
	// incidents (nil: unreadable).
	working map[string][]string
	// inHead says, per deployed commit, whether HEAD descends from it
	// (see deployedInHead).
	inHead map[string]bool
	// identities is used by occurrence only, on the goroutine that emits
	// traces (see reassemble.Reassembler.Pipeline).
	identities identityMemo
}

// New returns an Analyzer.
func New(cfg Config) *Analyzer {
	a := &Analyzer{cfg: cfg, groups: make(map[string]*group), trees: make(map[string][]string), working: make(map[string][]string), inHead: make(map[string]bool)}
	a.reasm = reassemble.New(a.occurrence)
	sort.SliceStable(a.cfg.Deploys, func(i, j int) bool { return a.cfg.Deploys[i].Time.Before(a.cfg.Deploys[j].Time) })
	return a
}

// AddDeploys adds deploys found after New, e.g. derived from the first
// appearance of a version label. A deploy of a service, env and version
// that is already known is ignored: explicit deploy events win.
func (a *Analyzer) AddDeploys(ds []incident.Deploy) {
	a.reasm.Wait() // traces closed before now are grouped with the deploys known before
	for _, d := range ds {
		known := false
		for _, k := range a.cfg.Deploys {
			if k.Version == d.Version && k.Service == d.Service && (k.Env == "" || d.Env == "" || k.Env == d.Env) {
				known = true
				break
			}
		}
		if !known {
			a.cfg.Deploys = append(a.cfg.Deploys, d)
		}
	}
	sort.SliceStable(a.cfg.Deploys, func(i, j int) bool { return a.cfg.Deploys[i].Time.Before(a.cfg.Deploys[j].Time) })
}

// Add feeds one log event.
func (a *Analyzer) Add(e incident.Event) {
	a.events++
	a.reasm.Add(e)
}

// addRefused is Add for an event whose line the run's gate refused and is
// valid only during the call (see telemetry.BorrowingGate).
func (a *Analyzer) addRefused(e incident.Event) {
	a.events++
	a.reasm.AddRefused(e)
}

// Candidate and Skip make an Analyzer a telemetry.Gate, so a source can
// skip building the entries that cannot be part of a crash; the result is
// the same as with every entry fed to Add.
func (a *Analyzer) Candidate(line string) bool { return a.reasm.Candidate(line) }

// CandidateEscaped is Candidate for a line still escaped inside a JSON
// string (see telemetry.EscapedGate).
func (a *Analyzer) CandidateEscaped(raw string) bool { return a.reasm.CandidateEscaped(raw) }

// Skip takes note of an entry that Candidate refused, unless its stream is
// in the middle of a trace: then it returns false and the entry must be
// fed to Add.
func (a *Analyzer) Skip(labels map[string]string, t time.Time) bool {
	if !a.reasm.Idle(labels) {
		return false
	}
	a.skipped()
	return true
}

func (a *Analyzer) skipped() {
	a.events++
	a.reasm.Skipped()
}

func (a *Analyzer) occurrence(o reassemble.Occurrence) {
	service := o.Labels[incident.LabelService]
	env := o.Labels[incident.LabelEnv]
	version := a.versionOf(service, env, o.Labels[incident.LabelVersion], o.Time)
	ident := a.identities.get(service, env, o.Trace)
	fp, id := ident.fingerprint, ident.id
	g := a.groups[id]
	if g == nil {
		g = &group{id: id, fingerprint: fp, service: service, env: env,
			versions: make(map[string]*versionSample), buckets: make(map[int64]int)}
		a.groups[id] = g
		a.order = append(a.order, id)
	}
	g.add(o, version)
	// An issue tracker (Sentry, GlitchTip) delivers one event per issue
	// carrying the issue's own count and first-seen time.
	if n, first, ok := telemetry.SentryCount(o.Labels); ok && n > 1 {
		g.count += n - 1
		if !first.IsZero() && first.Before(g.first) {
			g.first = first
		}
	}
}

// versionOf is the version an occurrence ran: its version label, else
// (no version label) the deploy running then, by its version, or by its
// commit when the deploy system reports only the revision it synced (Argo
// CD, Flux).
func (a *Analyzer) versionOf(service, env, label string, t time.Time) string {
	if label != "" {
		return label
	}
	if d := deployBefore(a.cfg.Deploys, service, env, t); d != nil {
		return deployLabel(d)
	}
	return ""
}

// Stats says what each step found, so an empty result can say why.
type Stats struct {
	Events     int
	Reassembly reassemble.Stats
	Incidents  int
	Mapped     int // incidents with a location in the workspace
	Unmapped   int
	Problems   []string
}

// Result is the outcome of an analysis.
type Result struct {
	Incidents []incident.Incident
	Stats     Stats
	// Empty explains, when there are no incidents, which step came up empty
	// and what to do about it.
	Empty string
}

// Incidents closes open traces and builds the incidents, most recent first.
// It may be called once per Analyzer.
func (a *Analyzer) Incidents(ctx context.Context) (Result, error) {
	a.reasm.Flush()
	var head string
	if a.cfg.Repo != nil {
		h, err := a.cfg.Repo.Head(ctx)
		if err == nil {
			head = h
		}
	}
	res := Result{Stats: Stats{Events: a.events, Reassembly: a.reasm.Stats()}}
	a.order = mergeSplit(a.groups, a.order)
	for _, id := range a.order {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("analysis cancelled: %w", err)
		}
		inc := a.build(ctx, a.groups[id], head)
		if inc.Location != nil {
			res.Stats.Mapped++
		} else {
			res.Stats.Unmapped++
		}
		res.Incidents = append(res.Incidents, inc)
	}
	correlate(res.Incidents)
	res.Stats.Problems = append(res.Stats.Problems, enrich(ctx, a.cfg.Enrichers, res.Incidents)...)
	sort.SliceStable(res.Incidents, func(i, j int) bool {
		return res.Incidents[i].LastSeen.After(res.Incidents[j].LastSeen)
	})
	res.Stats.Incidents = len(res.Incidents)
	if len(res.Incidents) == 0 || res.Stats.Mapped == 0 {
		res.Empty = explainEmpty(res.Stats)
	}
	return res, nil
}

// explainEmpty names the step that came up empty.
func explainEmpty(s Stats) string {
	switch {
	case s.Events == 0:
		return "no log entries in the window: check the source configuration and the time range (--since)"
	case s.Reassembly.Traces == 0 && s.Reassembly.Frameless > 0:
		return fmt.Sprintf("%d entries read and %d error lines found, but none carried a stack trace: log the stack (e.g. zap's stacktrace field, exc_info=True, console.error(err.stack))", s.Events, s.Reassembly.Frameless)
	case s.Reassembly.Traces == 0:
		return fmt.Sprintf("%d entries read, but none held a stack trace Faultline can parse (Go, Java, Python, Node)", s.Events)
	case s.Mapped == 0:
		return fmt.Sprintf("%d stack traces found, but no frame maps into this workspace: check that the logs are from this repository's services, or add path_rules to .faultline.yaml (see `faultline explain`)", s.Reassembly.Traces)
	}
	return ""
}

// deployBefore returns the latest deploy of service/env at or before t.
func deployBefore(deploys []incident.Deploy, service, env string, t time.Time) *incident.Deploy {
	var best *incident.Deploy
	for i := range deploys {
		d := &deploys[i]
		if !sameService(d, service, env) || d.Time.After(t) {
			continue
		}
		best = d
	}
	return best
}

// deployBeforeVersion returns the latest deploy of service/env before d with
// another version: what was running before d.
func previousDeploy(deploys []incident.Deploy, d *incident.Deploy) *incident.Deploy {
	var best *incident.Deploy
	for i := range deploys {
		p := &deploys[i]
		if !sameService(p, d.Service, d.Env) || !p.Time.Before(d.Time) || deployLabel(p) == deployLabel(d) {
			continue
		}
		best = p
	}
	return best
}

// deployLabel names a deploy (incident.Deploy.Label).
func deployLabel(d *incident.Deploy) string { return d.Label() }

func sameService(d *incident.Deploy, service, env string) bool {
	if d.Service != "" && service != "" && d.Service != service {
		return false
	}
	return d.Env == "" || env == "" || d.Env == env
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
