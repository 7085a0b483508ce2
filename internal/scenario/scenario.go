// Package scenario loads the crash scenarios that Faultline is measured
// against (testdata/scenarios) and turns them into what a user would have: a
// git repository with history, production logs and deploy events.
//
// A git repository cannot be committed inside the project, so a scenario
// stores its history as files, one txtar archive per commit, and
// Materialize replays them with go-git. Authors and times are fixed, so the
// commit shas are the same on every machine and expect.json can name them.
//
// Layout of testdata/scenarios/<name>/:
//
//	scenario.json      metadata: service, env, language, build and runs, deploys, incidents (Meta)
//	commits/NNN.txtar  one commit each, applied in name order; the archive comment
//	                   holds "message:", "author:", "date:" lines, then an optional body;
//	                   every file listed is written in full, content "<deleted>" deletes it
//	worktree.txtar     optional uncommitted edits applied after the last commit
//	logs.jsonl         generated: logcli --output jsonl entries (crashes among noise)
//	deploys.jsonl      generated: deploy events
//	expect.json        generated: what `faultline check` must find (Expect)
//
// History is a straight line unless an archive says otherwise. Three
// optional header lines shape it as teams' histories are shaped:
//
//	parent: 003     the commit is made on 003 instead of the archive before
//	                it (a release or hotfix branch, a feature branch); its
//	                files are changes to 003's tree
//	merge: 005      a merge commit: second parent 005. Its tree is the
//	                first parent's with what 005's side changed since the
//	                merge base taken file by file; a file both sides
//	                changed must be listed (the resolution). It may list
//	                no files
//	branch: hotfix  refs/heads/hotfix points at the last commit naming it
//
// A cherry-pick is a commit on another parent repeating a change; a
// squash-merge an ordinary commit on main; a revert an ordinary commit.
// In scenario.json, "head" names the commit checked out on main (default:
// the last archive; later ones stay in the repository, reachable from
// their branches: a checkout older than what runs), "shallow" makes the
// repository a `git clone --depth 1` of HEAD, its history absent, and
// "head_history_only" a clone of main that never fetched other branches.
//
// The buggy statement of each incident carries a marker comment in the
// archives, "// CRASH" or "# CRASH" (or "CRASH(id)" when a scenario has
// several incidents). Markers are stripped when files are materialized, so
// the repository and the binaries built from it look like any other.
package scenario

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"
)

// File names inside a scenario directory.
const (
	MetaFile     = "scenario.json"
	ExpectFile   = "expect.json"
	LogsFile     = "logs.jsonl"
	DeploysFile  = "deploys.jsonl"
	WorktreeFile = "worktree.txtar"
	CommitsDir   = "commits"
)

// Scenario is one loaded scenario. The generated files (logs, deploys,
// expect) may be missing before the generator has run; Expect is then nil.
type Scenario struct {
	Name    string
	Meta    Meta
	Commits []Commit
	// Worktree holds uncommitted edits applied after the last commit (nil
	// when the scenario has none).
	Worktree map[string][]byte
	Expect   *Expect

	fsys fs.FS
	dir  string
}

// Meta is scenario.json.
type Meta struct {
	Description string `json:"description"`
	Service     string `json:"service"`
	Env         string `json:"env"`
	Language    string `json:"language"` // go, python, node, java
	BuildMode   string `json:"build_mode"`
	// LabelNames maps the standard label names (service, env, version) to
	// the names this deployment's log pipeline uses (service_name, app, ...).
	LabelNames  map[string]string `json:"label_names,omitempty"`
	ExtraLabels map[string]string `json:"extra_labels,omitempty"`
	// Order is the order of logs.jsonl: "forward" (default) or "backward"
	// (logcli's default, newest first).
	Order   string       `json:"order,omitempty"`
	CrashAt time.Time    `json:"crash_at"` // time of the first run
	Build   BuildSpec    `json:"build"`
	Deploys []DeploySpec `json:"deploys"` // oldest first; the last one is running when it crashes
	// Incidents lists the distinct errors the runs produce.
	Incidents []IncidentSpec `json:"incidents"`
	// Head is the commit checked out on main ("" = the last archive).
	Head string `json:"head,omitempty"`
	// Shallow materializes a depth-1 clone of Head: only its commit and
	// tree, .git/shallow naming it.
	Shallow bool `json:"shallow,omitempty"`
	// HeadHistoryOnly materializes a clone of main alone: Head's history,
	// no other branch, no tag on a commit outside it (a deploy built from
	// a branch this checkout never fetched).
	HeadHistoryOnly bool `json:"head_history_only,omitempty"`
}

// BuildSpec says how the deployed commit is built and run in production.
type BuildSpec struct {
	// Dir is the production path the deployed tree is copied to, e.g.
	// /build/src/cart, /app, /srv/app, /usr/src/app.
	Dir string `json:"dir"`
	// Workdir is the repo-relative folder to build and run in (monorepos).
	Workdir  string            `json:"workdir,omitempty"`
	Commands [][]string        `json:"commands,omitempty"`
	Run      []string          `json:"run"`
	Env      map[string]string `json:"env,omitempty"`
}

// DeploySpec is one deploy of a commit.
type DeploySpec struct {
	Commit  string    `json:"commit"` // commit id: the archive name without .txtar
	Version string    `json:"version,omitempty"`
	At      time.Time `json:"at"`
	// VersionIsSHA makes the version label the commit's sha (first 12
	// characters) instead of Version.
	VersionIsSHA bool `json:"version_is_sha,omitempty"`
	// RecordCommit writes the commit sha into the deploy event; otherwise
	// only the version is given and resolves through a git tag.
	RecordCommit bool `json:"record_commit,omitempty"`
	Tag          bool `json:"tag,omitempty"` // create a git tag named Version
	// AnnotatedTag makes that tag an annotated one (a tag object with a
	// message, as `git tag -a` makes) instead of a lightweight ref.
	AnnotatedTag bool `json:"annotated_tag,omitempty"`
	// TagName names that tag when it differs from the version label: a
	// release tagged v3.1.0 whose pods are labelled 3.1.0.
	TagName string `json:"tag_name,omitempty"`
	// CommitOnly is a deploy known by its commit alone, as a CD system
	// that reports the revision it synced: the deploy event carries the
	// commit and no version, and the service's log lines carry no version
	// label. Version must be empty.
	CommitOnly bool `json:"commit_only,omitempty"`
	// EventVersion is the version the deploy event records when it is
	// written otherwise than the pods' label: the CD system records the
	// tag name v1.8.0, the chart labels the pods 1.8.0.
	EventVersion string `json:"event_version,omitempty"`
	// NoEvent is a deploy no deploy event records (an image rolled out by
	// hand, a CD system that reports only some deploys): it runs, and its
	// pods carry its version label, but deploys.jsonl does not list it.
	// CommitOnly, RecordCommit and EventVersion do not go with it.
	NoEvent bool `json:"no_event,omitempty"`
}

// IncidentSpec is one distinct error of a scenario.
type IncidentSpec struct {
	ID        string `json:"id,omitempty"` // marker id; "" matches a plain CRASH marker
	ErrorType string `json:"error_type"`   // substring the reported error_type must contain
	Fixable   bool   `json:"fixable"`
	Category  string `json:"category,omitempty"` // code, infrastructure, ...
	// Regression is a command run at the repository root (or RegressionDir)
	// that fails at HEAD because of the crash and passes once it is fixed.
	Regression    []string `json:"regression,omitempty"`
	RegressionDir string   `json:"regression_dir,omitempty"`
	// RegressionNeedsNetwork says the regression installs packages from a
	// registry (npm install of a TypeScript compiler, of pino): the tests,
	// which use no network beyond 127.0.0.1, do not run it. Go scenarios
	// vendor what they import instead.
	RegressionNeedsNetwork bool  `json:"regression_needs_network,omitempty"`
	Runs                   []Run `json:"runs"`
}

// Run is one execution of the deployed program.
type Run struct {
	Args   []string          `json:"args,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
	Stdin  string            `json:"stdin,omitempty"`
	Repeat int               `json:"repeat,omitempty"` // times to run (default 1)
}

// Commit is one commit of the scenario's history.
type Commit struct {
	ID      string // archive name without .txtar, e.g. "003"
	Subject string
	Body    string
	Author  string // "Name <email>"
	Time    time.Time
	// Files maps repo-relative paths to their new content, markers kept.
	Files   map[string][]byte
	Deleted []string
	// Parent is the first parent's id ("" = the archive before); Merge the
	// second parent's, for a merge commit; Branch a branch left pointing
	// here. See the package doc.
	Parent, Merge, Branch string
}

// Message is the full commit message.
func (c Commit) Message() string {
	if c.Body == "" {
		return c.Subject + "\n"
	}
	return c.Subject + "\n\n" + c.Body + "\n"
}

// LogsPath is the path of logs.jsonl inside the scenario's file system.
func (s *Scenario) LogsPath() string { return path.Join(s.dir, LogsFile) }

// DeploysPath is the path of deploys.jsonl inside the scenario's file system.
func (s *Scenario) DeploysPath() string { return path.Join(s.dir, DeploysFile) }

// Dir is the scenario's directory inside its file system.
func (s *Scenario) Dir() string { return s.dir }

// FS is the file system the scenario was loaded from.
func (s *Scenario) FS() fs.FS { return s.fsys }

// Load reads the scenario in dir of fsys.
func Load(fsys fs.FS, dir string) (*Scenario, error) {
	s := &Scenario{Name: path.Base(dir), fsys: fsys, dir: dir}
	raw, err := fs.ReadFile(fsys, path.Join(dir, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &s.Meta); err != nil {
		return nil, fmt.Errorf("load scenario %s: parse %s: %w", dir, MetaFile, err)
	}
	if s.Commits, err = loadCommits(fsys, path.Join(dir, CommitsDir)); err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", dir, err)
	}
	if raw, err := fs.ReadFile(fsys, path.Join(dir, WorktreeFile)); err == nil {
		files, deleted := parseFiles(raw)
		if len(deleted) > 0 {
			return nil, fmt.Errorf("load scenario %s: %s may not delete files", dir, WorktreeFile)
		}
		s.Worktree = files
	}
	if raw, err := fs.ReadFile(fsys, path.Join(dir, ExpectFile)); err == nil {
		s.Expect = new(Expect)
		if err := json.Unmarshal(raw, s.Expect); err != nil {
			return nil, fmt.Errorf("load scenario %s: parse %s: %w", dir, ExpectFile, err)
		}
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", dir, err)
	}
	return s, nil
}

// LoadAll loads every scenario directly under root (every folder holding a
// scenario.json), sorted by name.
func LoadAll(fsys fs.FS, root string) ([]*Scenario, error) {
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("list scenarios in %s: %w", root, err)
	}
	var out []*Scenario
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := path.Join(root, e.Name())
		if _, err := fs.Stat(fsys, path.Join(dir, MetaFile)); err != nil {
			continue
		}
		s, err := Load(fsys, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Scenario) validate() error {
	m := s.Meta
	if m.Service == "" || m.Env == "" || m.Language == "" {
		return fmt.Errorf("%s: service, env and language are required", MetaFile)
	}
	if len(s.Commits) == 0 {
		return fmt.Errorf("no commits in %s/", CommitsDir)
	}
	if len(m.Deploys) == 0 || len(m.Incidents) == 0 {
		return fmt.Errorf("%s: at least one deploy and one incident are required", MetaFile)
	}
	for i, c := range s.Commits {
		for _, p := range []string{c.Parent, c.Merge} {
			if j := s.commitIndex(p); p != "" && (j < 0 || j >= i) {
				return fmt.Errorf("commit %s: parent %q is not an earlier commit", c.ID, p)
			}
		}
	}
	if m.Head != "" && s.commitIndex(m.Head) < 0 {
		return fmt.Errorf("%s: head is unknown commit %q", MetaFile, m.Head)
	}
	if _, err := s.trees(); err != nil {
		return err
	}
	for _, d := range m.Deploys {
		if s.commitIndex(d.Commit) < 0 {
			return fmt.Errorf("%s: deploy of unknown commit %q", MetaFile, d.Commit)
		}
		if d.NoEvent && (d.CommitOnly || d.RecordCommit || d.EventVersion != "") {
			return fmt.Errorf("%s: deploy of %s has no event to record a commit or version in", MetaFile, d.Commit)
		}
		if d.CommitOnly {
			if d.Version != "" || d.VersionIsSHA || d.Tag {
				return fmt.Errorf("%s: commit-only deploy of %s has a version", MetaFile, d.Commit)
			}
			continue
		}
		if !d.VersionIsSHA && d.Version == "" {
			return fmt.Errorf("%s: deploy of %s has no version", MetaFile, d.Commit)
		}
	}
	return nil
}

func (s *Scenario) commitIndex(id string) int {
	for i, c := range s.Commits {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// Deployed is the deploy running when the crashes happen: the last one.
func (s *Scenario) Deployed() DeploySpec { return s.Meta.Deploys[len(s.Meta.Deploys)-1] }

// Label returns the label name this scenario uses for a standard name.
func (s *Scenario) Label(std string) string {
	if n := s.Meta.LabelNames[std]; n != "" {
		return n
	}
	return std
}

// Labels renders the label set of the scenario's service at a version
// (no version label when version is empty: a commit-only deploy).
func (s *Scenario) Labels(version string) map[string]string {
	l := map[string]string{
		s.Label("service"): s.Meta.Service,
		s.Label("env"):     s.Meta.Env,
	}
	if version != "" {
		l[s.Label("version")] = version
	}
	for k, v := range s.Meta.ExtraLabels {
		l[k] = v
	}
	return l
}

// VersionOf is the version label of a deploy given the commit shas ("" for
// a commit-only deploy).
func (d DeploySpec) VersionOf(shas map[string]string) string {
	if d.CommitOnly {
		return ""
	}
	if d.VersionIsSHA {
		if sha := shas[d.Commit]; len(sha) >= 12 {
			return sha[:12]
		}
	}
	return d.Version
}

// HeadID is the id of the commit checked out: Meta.Head, else the last.
func (s *Scenario) HeadID() string {
	if s.Meta.Head != "" {
		return s.Meta.Head
	}
	return s.Commits[len(s.Commits)-1].ID
}

// parents returns the ids of commit i's parents, first parent first.
func (s *Scenario) parents(i int) []string {
	c := s.Commits[i]
	var ps []string
	switch {
	case c.Parent != "":
		ps = append(ps, c.Parent)
	case i > 0:
		ps = append(ps, s.Commits[i-1].ID)
	}
	if c.Merge != "" {
		ps = append(ps, c.Merge)
	}
	return ps
}

// ancestors returns the ids of commit id and every commit it descends from.
func (s *Scenario) ancestors(id string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		for _, p := range s.parents(s.commitIndex(id)) {
			walk(p)
		}
	}
	walk(id)
	return seen
}

// trees computes the full tree (markers kept) after every commit.
func (s *Scenario) trees() ([]map[string][]byte, error) {
	out := make([]map[string][]byte, len(s.Commits))
	for i, c := range s.Commits {
		tree := map[string][]byte{}
		ps := s.parents(i)
		if len(ps) > 0 {
			for p, b := range out[s.commitIndex(ps[0])] {
				tree[p] = b
			}
		}
		if len(ps) == 2 {
			base := map[string][]byte{}
			if b := s.mergeBase(ps[0], ps[1]); b >= 0 {
				base = out[b]
			}
			other := out[s.commitIndex(ps[1])]
			paths := map[string]bool{}
			for _, m := range []map[string][]byte{base, tree, other} {
				for p := range m {
					paths[p] = true
				}
			}
			for p := range paths {
				b, bok := base[p]
				x, xok := tree[p]
				y, yok := other[p]
				same := func(a []byte, aok bool, b []byte, bok bool) bool { return aok == bok && string(a) == string(b) }
				switch {
				case same(x, xok, y, yok), same(b, bok, y, yok):
				case same(b, bok, x, xok):
					if yok {
						tree[p] = y
					} else {
						delete(tree, p)
					}
				default:
					if _, ok := c.Files[p]; !ok && !contains(c.Deleted, p) {
						return nil, fmt.Errorf("commit %s: both sides of the merge changed %s: list its resolution", c.ID, p)
					}
				}
			}
		}
		for p, b := range c.Files {
			tree[p] = b
		}
		for _, p := range c.Deleted {
			delete(tree, p)
		}
		out[i] = tree
	}
	return out, nil
}

// mergeBase is the index of the latest commit both a and b descend from,
// -1 when none.
func (s *Scenario) mergeBase(a, b string) int {
	aa, bb := s.ancestors(a), s.ancestors(b)
	for i := len(s.Commits) - 1; i >= 0; i-- {
		if id := s.Commits[i].ID; aa[id] && bb[id] {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TreeAt returns the files of the repository after commit id (HEAD's when
// id is ""), with markers kept when raw is true and stripped otherwise.
func (s *Scenario) TreeAt(id string, raw bool) (map[string][]byte, error) {
	if id == "" {
		id = s.HeadID()
	}
	i := s.commitIndex(id)
	if i < 0 {
		return nil, fmt.Errorf("scenario %s: unknown commit %q", s.Name, id)
	}
	all, err := s.trees()
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	tree := make(map[string][]byte, len(all[i]))
	for p, b := range all[i] {
		if !raw {
			b = StripMarkers(b)
		}
		tree[p] = b
	}
	return tree, nil
}

// WorkingTree is the HEAD tree with worktree.txtar applied.
func (s *Scenario) WorkingTree(raw bool) (map[string][]byte, error) {
	tree, err := s.TreeAt("", raw)
	if err != nil {
		return nil, err
	}
	for p, b := range s.Worktree {
		if !raw {
			b = StripMarkers(b)
		}
		tree[p] = b
	}
	return tree, nil
}
