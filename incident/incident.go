// Package incident holds Faultline's domain types: what a backend delivers
// (Event, Deploy), what a stack-trace parser reads (Trace, Frame), and what the
// analysis produces for the editor and the CLI (Incident, Location, RootCause,
// Evidence, Fix).
//
// It imports nothing of ours so that every layer can speak it. The JSON tags of
// Incident and the types it holds are the `faultline check --format json`
// contract (shared/design.md §4): fields may be added, never renamed.
// Lines and columns are 1-based everywhere in this package.
package incident

import (
	"sort"
	"strings"
	"time"
)

// Standard label names. Backends normalise their aliases (service_name,
// service.name, app, job, ...) onto these before events leave telemetry.
const (
	LabelService = "service"
	LabelEnv     = "env"
	LabelVersion = "version"
)

// Event is one log entry as a backend returned it. A multi-line stack trace
// written to stderr arrives as many Events of the same stream.
type Event struct {
	Time   time.Time
	Labels map[string]string // normalised: service, env, version, plus the rest
	Line   string
	// Origin says where the entry came from, for messages ("logs.jsonl:12",
	// "loki http://127.0.0.1:3100").
	Origin string
	// Before, when a source sets it, is the lines of the same stream just
	// before this one, oldest first, joined by "\n": at most two, whole
	// entries of one line each. A source that skips the entries no trace
	// starts with (see telemetry.PrefaceGate) gives them with an entry
	// opening a trace whose message is on the line before (pkg/errors'
	// "%+v"); the line before that tells whether the message follows a
	// stack.
	Before string
}

// StreamKey identifies the stream an event belongs to: the sorted label set.
// Entries of one stream are reassembled together.
func (e Event) StreamKey() string { return LabelsKey(e.Labels) }

// LabelsKey renders labels in a stable order: k1="v1",k2="v2".
func LabelsKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(l[k])
		b.WriteByte('"')
	}
	return b.String()
}

// Deploy is one deploy event: a version of a service went live in an env.
type Deploy struct {
	Time    time.Time `json:"timestamp"`
	Service string    `json:"service"`
	Env     string    `json:"env"`
	Version string    `json:"version"`
	Commit  string    `json:"commit,omitempty"` // full sha when known
}

// Label names the deploy: its version, else (a deploy system that reports
// only the revision it synced) the commit's first 12 characters, as a sha
// version label is written.
func (d Deploy) Label() string {
	switch {
	case d.Version != "":
		return d.Version
	case len(d.Commit) > 12:
		return d.Commit[:12]
	}
	return d.Commit
}

// Frame is one stack frame as the runtime printed it, plus what the parser
// could tell about it. Parsers return frames innermost first: Frames[0] is
// where the error was raised.
type Frame struct {
	Function string // as printed, e.g. "main.(*Cart).Total", "com.acme.Cart.total", "total"
	Path     string // file path as printed in production
	Line     int    // 1-based; 0 when unknown
	Column   int    // 1-based; 0 when unknown
	// Package is the Go import path, Java package or Python module when the
	// frame names one; the path mapper uses it to find the file.
	Package string
	// Library is set by the parser when the frame is certainly not the
	// application's: Go runtime/stdlib, module cache, vendor, JDK classes,
	// site-packages, node_modules, node:internal.
	Library bool
}

// Trace is one parsed error with its stack.
type Trace struct {
	Language string // "go", "java", "python", "node"
	// ErrorType is the class of error, free of request-specific literals:
	// "runtime error: index out of range", "java.lang.NullPointerException",
	// "KeyError", "TypeError". It is part of the fingerprint.
	ErrorType string
	// Message is the full first line of the error as printed.
	Message string
	// Frames of the error to attribute, innermost first. For chained errors
	// (Java "Caused by:", Python "During handling ...") the parser picks the
	// one whose frames explain the failure and lists the rest in Chain.
	Frames []Frame
	Chain  []Trace
	// Goroutine is the Go goroutine id of the crashing goroutine, when known.
	Goroutine int
	// Problems lists what the parser could not read (a torn trace, a line it
	// skipped). Parsing never fails: it returns what it could read.
	Problems []string
}

// Location is a place in the workspace at HEAD.
type Location struct {
	File     string `json:"file"` // repo-relative, forward slashes
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Function string `json:"function"`
	// Status says how the line was carried from the deployed commit:
	// "exact" (same commit), "moved", "unchanged", "deleted" (the statement no
	// longer exists at HEAD), "unknown" (no deployed commit could be resolved).
	Status string `json:"status,omitempty"`
	Note   string `json:"note,omitempty"`
}

// MappedFrame is a frame after path mapping and line drift, as the check
// contract shows it.
type MappedFrame struct {
	Function     string `json:"function"`
	File         string `json:"file"` // repo-relative when mapped, else the original path
	Line         int    `json:"line"` // at HEAD when mapped, else the original line
	Column       int    `json:"column,omitempty"`
	InApp        bool   `json:"in_app"`
	OriginalPath string `json:"original_path"`
	OriginalLine int    `json:"original_line"`
	Mapped       bool   `json:"mapped"`
	LineStatus   string `json:"line_status,omitempty"` // as Location.Status
	Note         string `json:"note,omitempty"`        // how the line was carried, or why not
	// RepoPathAtDeploy is the repo-relative path the frame mapped to before
	// line drift (a rename moves File).
	RepoPathAtDeploy string `json:"-"`
}

// Commit names a commit.
type Commit struct {
	SHA     string    `json:"sha"`
	Author  string    `json:"author"`
	Summary string    `json:"summary"`
	Time    time.Time `json:"time,omitempty"`
	// Parents are the parent shas, when the history was walked (not part
	// of the JSON contract): a merge commit has several.
	Parents []string `json:"-"`
	// PickedFrom is the commit this one was cherry-picked from, as its
	// message records it (`git cherry-pick -x`), when it does.
	PickedFrom string `json:"-"`
}

// Suspect is a commit suspected of introducing the error, with why.
type Suspect struct {
	Commit
	Score   float64  `json:"score"`
	Reasons []string `json:"reasons"`
}

// Evidence is one fact behind a root-cause note.
type Evidence struct {
	Kind string `json:"kind"` // deploy | trace | metric | history | errors
	Text string `json:"text"`
}

// RootCause is the assessment written for an incident.
type RootCause struct {
	Summary       string     `json:"summary"`
	Confidence    float64    `json:"confidence"`
	SuspectCommit *Commit    `json:"suspect_commit,omitempty"`
	Evidence      []Evidence `json:"evidence"`
	Fixable       bool       `json:"fixable"`
	// Category: "code", "infrastructure", "dependency", "data".
	Category string    `json:"category,omitempty"`
	Suspects []Suspect `json:"suspects,omitempty"`
	// LLMSummary is the optional model-written summary over the evidence
	// above, when an LLM is configured; it adds to Summary, never replaces it.
	LLMSummary string `json:"llm_summary,omitempty"`
}

// Fix is a proposed change for an incident.
type Fix struct {
	Title     string `json:"title"`
	Diff      string `json:"diff"` // unified diff that `git apply` accepts at the repo root
	Validated bool   `json:"validated"`
	Source    string `json:"source"` // rule:<name> | llm:<provider>
}

// Incident is a group of occurrences of one error, as the editor and the
// check command show it.
type Incident struct {
	ID        string        `json:"id"`
	Service   string        `json:"service"`
	Env       string        `json:"env"`
	Versions  []string      `json:"versions"`
	Language  string        `json:"language,omitempty"`
	ErrorType string        `json:"error_type"`
	Message   string        `json:"message"`
	Count     int           `json:"count"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
	Location  *Location     `json:"location"`
	Frames    []MappedFrame `json:"frames"`
	RootCause *RootCause    `json:"root_cause"`
	Fixes     []Fix         `json:"fixes"`
	TraceIDs  []string      `json:"trace_ids,omitempty"`
	// Link points at the incident in the backend it came from (the team
	// correlator, an issue tracker), when there is one.
	Link   string  `json:"link,omitempty"`
	Deploy *Deploy `json:"deploy,omitempty"` // the deploy that preceded first_seen
	// Timeline counts occurrences per time bucket, oldest first.
	Timeline []Bucket `json:"timeline,omitempty"`
	// DeployedCommit is the commit the lines were read at (resolved from the
	// version label, the deploy event or a tag, or inferred from the trace
	// when none names it: the location's note says so); empty when unknown.
	DeployedCommit string `json:"deployed_commit,omitempty"`
}

// Bucket is a count of occurrences in a time window starting at Start.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
}
