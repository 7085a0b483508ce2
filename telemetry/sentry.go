package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// Labels a Sentry event carries besides service, env and version. Sentry
// has already grouped the occurrences into an issue, so the source delivers
// one event per issue (its latest event's stack trace) and says how many
// occurrences it stands for here: the analysis adds LabelSentryCount to the
// incident's count instead of counting one.
const (
	LabelSentryIssue     = "sentry_issue"      // the issue id
	LabelSentryCount     = "sentry_count"      // occurrences Sentry counted for the issue
	LabelSentryFirstSeen = "sentry_first_seen" // RFC 3339
)

// SentryConfig configures a Sentry-compatible source (Sentry, GlitchTip).
type SentryConfig struct {
	// URL is the server's base URL: https://sentry.io, https://acme.sentry.io,
	// http://127.0.0.1:8000 for a GlitchTip.
	URL     string
	Org     string // organization slug
	Project string // project slug; also the service label
	// Token is sent as "Authorization: Bearer"; read it from the
	// environment (SENTRY_AUTH_TOKEN), never from the workspace config.
	Token string
	// Query is Sentry's issue search; default "is:unresolved".
	Query string
	// MaxIssues bounds the issues read per Fetch (default 200): each costs
	// one request for its latest event.
	MaxIssues int
	Client    *http.Client
}

// Sentry reads issues and their latest events from the Sentry web API
// (GET /api/0/projects/{org}/{project}/issues/ and
// GET /api/0/issues/{id}/events/latest/), which GlitchTip implements too.
type Sentry struct {
	cfg  SentryConfig
	base *url.URL
}

// maxSentryBody bounds one response; a latest event with source context is
// tens of kilobytes.
const maxSentryBody = 16 << 20

// NewSentry checks the configuration.
func NewSentry(cfg SentryConfig) (*Sentry, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sentry url %q: want http(s)://host", cfg.URL)
	}
	if cfg.Org == "" || cfg.Project == "" {
		return nil, fmt.Errorf("sentry %s: organization and project slugs are required", u.Redacted())
	}
	if cfg.Query == "" {
		cfg.Query = "is:unresolved"
	}
	if cfg.MaxIssues <= 0 {
		cfg.MaxIssues = 200
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Sentry{cfg: cfg, base: u}, nil
}

// SentryConfigFromURL reads the --source form sentry:URL, where the URL
// names the project: https://sentry.io/acme/checkout (base/org/project) or
// the web UI's https://sentry.io/organizations/acme/projects/checkout/.
// The token is passed in by the caller (from SENTRY_AUTH_TOKEN).
func SentryConfigFromURL(raw, token string) (SentryConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return SentryConfig{}, fmt.Errorf("sentry url %q: want https://HOST/ORG/PROJECT", raw)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(segs); n >= 4 && segs[n-4] == "organizations" && segs[n-2] == "projects" {
		segs = append(segs[:n-4], segs[n-3], segs[n-1])
	}
	if len(segs) < 2 || segs[len(segs)-1] == "" || segs[len(segs)-2] == "" {
		return SentryConfig{}, fmt.Errorf("sentry url %s: want https://HOST/ORG/PROJECT", u.Redacted())
	}
	org, project := segs[len(segs)-2], segs[len(segs)-1]
	u.Path = "/" + strings.Join(segs[:len(segs)-2], "/")
	u.RawQuery, u.Fragment = "", ""
	return SentryConfig{URL: strings.TrimRight(u.String(), "/"), Org: org, Project: project, Token: token}, nil
}

// Name implements Source.
func (s *Sentry) Name() string {
	return fmt.Sprintf("sentry:%s/%s/%s", s.base.Redacted(), s.cfg.Org, s.cfg.Project)
}

// sentryIssue is the part of an issue the source reads.
type sentryIssue struct {
	ID        string      `json:"id"`
	ShortID   string      `json:"shortId"`
	Title     string      `json:"title"`
	Count     json.Number `json:"count"` // a string in Sentry, a number in some versions
	FirstSeen time.Time   `json:"firstSeen"`
	LastSeen  time.Time   `json:"lastSeen"`
	Platform  string      `json:"platform"`
	Permalink string      `json:"permalink"`
}

// Fetch implements Source: one event per unresolved issue last seen in the
// window, its line a structured log entry holding the latest event's stack
// trace in the language's own format.
func (s *Sentry) Fetch(ctx context.Context, q Query, fn func(incident.Event) error) (Stats, error) {
	var st Stats
	cursor := ""
	seen := 0
	for page := 0; seen < s.cfg.MaxIssues; page++ {
		var issues []sentryIssue
		path := fmt.Sprintf("/api/0/projects/%s/%s/issues/", url.PathEscape(s.cfg.Org), url.PathEscape(s.cfg.Project))
		params := url.Values{"query": {s.cfg.Query}}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		hdr, err := s.get(ctx, path, params, &issues, &st)
		if err != nil {
			return st, fmt.Errorf("list sentry issues of %s/%s: %w", s.cfg.Org, s.cfg.Project, err)
		}
		for _, is := range issues {
			if seen >= s.cfg.MaxIssues {
				break
			}
			seen++
			if !q.Contains(is.LastSeen) {
				continue
			}
			if err := s.deliver(ctx, is, &st, fn); err != nil {
				return st, err
			}
		}
		next, ok := nextCursor(hdr.Get("Link"))
		if !ok || next == cursor || len(issues) == 0 {
			break
		}
		cursor = next
	}
	return st, nil
}

// deliver reads an issue's latest event and hands it on. An event that
// cannot be read or rendered is counted as malformed, not fatal.
func (s *Sentry) deliver(ctx context.Context, is sentryIssue, st *Stats, fn func(incident.Event) error) error {
	ev, err := s.latestEvent(ctx, is.ID, st)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errSentryAuth) {
			return fmt.Errorf("latest event of sentry issue %s: %w", is.ID, err)
		}
		st.Malformed++
		st.problem("sentry issue %s: %v", is.ID, err)
		return nil
	}
	e, err := sentryEvent(s.cfg.Project, is, ev)
	if err != nil {
		st.Malformed++
		st.problem("sentry issue %s: %v", is.ID, err)
		return nil
	}
	e.Origin = "sentry issue " + is.ID
	st.Entries++
	return fn(e)
}

// latestEvent tries the issue path GlitchTip and Sentry both serve, then
// the organization-scoped one newer Sentry versions prefer.
func (s *Sentry) latestEvent(ctx context.Context, id string, st *Stats) (*sentryEventDoc, error) {
	var ev sentryEventDoc
	_, err := s.get(ctx, "/api/0/issues/"+url.PathEscape(id)+"/events/latest/", nil, &ev, st)
	var se *sentryStatusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		ev = sentryEventDoc{}
		_, err = s.get(ctx, fmt.Sprintf("/api/0/organizations/%s/issues/%s/events/latest/", url.PathEscape(s.cfg.Org), url.PathEscape(id)), nil, &ev, st)
	}
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

var errSentryAuth = errors.New("sentry refused the token")

type sentryStatusError struct {
	code int
	body string
}

func (e *sentryStatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// get fetches one API path into out. Errors name the URL without query
// and never the token.
func (s *Sentry) get(ctx context.Context, path string, params url.Values, out any, st *Stats) (http.Header, error) {
	u := *s.base
	u.Path = strings.TrimRight(s.base.Path, "/") + path
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	req.Header.Set("Accept", "application/json")
	where := s.base.Redacted() + path
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL with its query
		}
		return nil, fmt.Errorf("GET %s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSentryBody))
	st.Bytes += int64(len(body))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", where, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: HTTP %d: %w: set SENTRY_AUTH_TOKEN to a token with event:read and project:read scopes", where, resp.StatusCode, errSentryAuth)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %w", where, &sentryStatusError{resp.StatusCode, snippet(body, s.cfg.Token)})
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, fmt.Errorf("GET %s: decode response: %w", where, err)
	}
	return resp.Header, nil
}

// snippet is the start of an error body for messages, free of the token.
func snippet(body []byte, token string) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if token != "" {
		s = strings.ReplaceAll(s, token, "[token]")
	}
	return s
}

// linkPart matches one entry of Sentry's Link header:
// <URL>; rel="next"; results="true"; cursor="0:100:0".
var linkPart = regexp.MustCompile(`<[^>]*>\s*;\s*rel="(\w+)"\s*;\s*results="(\w+)"\s*;\s*cursor="([^"]*)"`)

// nextCursor returns the next page's cursor when Sentry says it has
// results. Only the cursor is taken, never the URL: a response must not be
// able to send the token to another host.
func nextCursor(link string) (string, bool) {
	for _, m := range linkPart.FindAllStringSubmatch(link, -1) {
		if m[1] == "next" {
			return m[3], m[2] == "true" && m[3] != ""
		}
	}
	return "", false
}

// SentryCount reads the occurrence count and first-seen time a Sentry
// event stands for (see LabelSentryCount); ok is false for other events.
func SentryCount(labels map[string]string) (count int, firstSeen time.Time, ok bool) {
	v, ok := labels[LabelSentryCount]
	if !ok {
		return 0, time.Time{}, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, time.Time{}, false
	}
	t, _ := time.Parse(time.RFC3339, labels[LabelSentryFirstSeen])
	return n, t, true
}

// sentryEventDoc is an event as the web API returns it: the exception in
// entries[type=exception].data (camelCase frame keys), or, in the stored
// event form some servers return, a top-level exception (snake_case).
type sentryEventDoc struct {
	EventID     string          `json:"eventID"`
	Platform    string          `json:"platform"`
	DateCreated time.Time       `json:"dateCreated"`
	Tags        []sentryTag     `json:"tags"`
	Entries     []sentryEntry   `json:"entries"`
	Exception   *sentryExcBlock `json:"exception"`
	Release     json.RawMessage `json:"release"` // an object {"version":...}, a string, or null
	Environment string          `json:"environment"`
}

type sentryTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type sentryEntry struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type sentryExcBlock struct {
	Values []sentryException `json:"values"`
}

type sentryException struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Module     string `json:"module"`
	Stacktrace *struct {
		Frames []sentryFrame `json:"frames"`
	} `json:"stacktrace"`
}

// sentryFrame accepts both spellings: the API's camelCase and the event
// payload's snake_case.
type sentryFrame struct {
	Filename  string `json:"filename"`
	AbsPath   string `json:"absPath"`
	AbsPath2  string `json:"abs_path"`
	Function  string `json:"function"`
	Module    string `json:"module"`
	LineNo    *int   `json:"lineNo"`
	LineNo2   *int   `json:"lineno"`
	ColNo     *int   `json:"colNo"`
	ColNo2    *int   `json:"colno"`
	InApp     *bool  `json:"inApp"`
	InApp2    *bool  `json:"in_app"`
	path, fn  string
	line, col int
}

func (f *sentryFrame) normalize() {
	f.path = firstNonEmpty(f.AbsPath, f.AbsPath2, f.Filename)
	f.fn = f.Function
	for _, p := range []*int{f.LineNo, f.LineNo2} {
		if p != nil && f.line == 0 {
			f.line = *p
		}
	}
	for _, p := range []*int{f.ColNo, f.ColNo2} {
		if p != nil && f.col == 0 {
			f.col = *p
		}
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// exceptions returns the event's exceptions, oldest cause first as Sentry
// lists them.
func (d *sentryEventDoc) exceptions() ([]sentryException, error) {
	for _, e := range d.Entries {
		if e.Type != "exception" {
			continue
		}
		var b sentryExcBlock
		if err := json.Unmarshal(e.Data, &b); err != nil {
			return nil, fmt.Errorf("read exception entry: %w", err)
		}
		return b.Values, nil
	}
	if d.Exception != nil {
		return d.Exception.Values, nil
	}
	return nil, nil
}

func (d *sentryEventDoc) tag(key string) string {
	for _, t := range d.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func (d *sentryEventDoc) release() string {
	var obj struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(d.Release, &obj) == nil && obj.Version != "" {
		return obj.Version
	}
	var s string
	if json.Unmarshal(d.Release, &s) == nil && s != "" {
		return s
	}
	return d.tag("release")
}

// sentryEvent renders an issue's latest event as one structured log line
// the pipeline parses like any logger's: {"level":"error","error":...,
// "stacktrace":...}, the stack in the runtime's own format.
func sentryEvent(project string, is sentryIssue, ev *sentryEventDoc) (incident.Event, error) {
	excs, err := ev.exceptions()
	if err != nil {
		return incident.Event{}, err
	}
	if len(excs) == 0 {
		return incident.Event{}, fmt.Errorf("latest event %s has no exception (a message event?)", ev.EventID)
	}
	platform := firstNonEmpty(ev.Platform, is.Platform)
	stack, errText, err := renderSentryStack(platform, excs)
	if err != nil {
		return incident.Event{}, fmt.Errorf("event %s: %w", ev.EventID, err)
	}
	line, err := json.Marshal(map[string]any{
		"level": "error", "error": errText, "stacktrace": stack,
		"sentry_issue": is.ID, "permalink": is.Permalink,
	})
	if err != nil {
		return incident.Event{}, fmt.Errorf("render event %s: %w", ev.EventID, err)
	}
	count := 1
	if n, err := strconv.Atoi(is.Count.String()); err == nil && n > 0 {
		count = n
	}
	labels := map[string]string{
		incident.LabelService: project,
		LabelSentryIssue:      is.ID,
		LabelSentryCount:      strconv.Itoa(count),
	}
	if env := firstNonEmpty(ev.tag("environment"), ev.Environment); env != "" {
		labels[incident.LabelEnv] = env
	}
	if rel := ev.release(); rel != "" {
		labels[incident.LabelVersion] = rel
	}
	if !is.FirstSeen.IsZero() {
		labels[LabelSentryFirstSeen] = is.FirstSeen.UTC().Format(time.RFC3339)
	}
	t := is.LastSeen
	if t.IsZero() {
		t = ev.DateCreated
	}
	return incident.Event{Time: t, Labels: labels, Line: string(line)}, nil
}

// renderSentryStack prints the exceptions (oldest cause first, frames
// oldest call first, as Sentry stores them) the way the runtime would have,
// so the ordinary stack parsers read them. It returns the stack and the
// "Type: value" of the exception that was raised last.
func renderSentryStack(platform string, excs []sentryException) (string, string, error) {
	for i := range excs {
		if excs[i].Stacktrace == nil {
			continue
		}
		for j := range excs[i].Stacktrace.Frames {
			excs[i].Stacktrace.Frames[j].normalize()
		}
	}
	last := excs[len(excs)-1]
	var b strings.Builder
	switch platform {
	case "python":
		head := pyTypeName(last) + ": " + oneLineText(last.Value)
		for i, e := range excs {
			if i > 0 {
				b.WriteString("\nDuring handling of the above exception, another exception occurred:\n\n")
			}
			b.WriteString("Traceback (most recent call last):\n")
			for _, f := range sentryFrames(e) {
				fmt.Fprintf(&b, "  File %q, line %d, in %s\n", f.path, f.line, firstNonEmpty(f.fn, "<module>"))
			}
			fmt.Fprintf(&b, "%s: %s\n", pyTypeName(e), oneLineText(e.Value))
		}
		return b.String(), head, nil
	case "javascript", "node":
		head := firstNonEmpty(last.Type, "Error") + ": " + oneLineText(last.Value)
		b.WriteString(head + "\n")
		frames := sentryFrames(last)
		for i := len(frames) - 1; i >= 0; i-- {
			f := frames[i]
			loc := fmt.Sprintf("%s:%d:%d", f.path, f.line, max(f.col, 1))
			if f.fn != "" {
				fmt.Fprintf(&b, "    at %s (%s)\n", f.fn, loc)
			} else {
				fmt.Fprintf(&b, "    at %s\n", loc)
			}
		}
		return b.String(), head, nil
	case "java":
		head := javaTypeName(last) + ": " + oneLineText(last.Value)
		for i := len(excs) - 1; i >= 0; i-- {
			e := excs[i]
			if i < len(excs)-1 {
				b.WriteString("Caused by: ")
			}
			fmt.Fprintf(&b, "%s: %s\n", javaTypeName(e), oneLineText(e.Value))
			frames := sentryFrames(e)
			for j := len(frames) - 1; j >= 0; j-- {
				f := frames[j]
				fmt.Fprintf(&b, "\tat %s(%s:%d)\n", qualified(f.Module, f.fn), pathBase(f.path), f.line)
			}
		}
		return b.String(), head, nil
	case "go":
		head := firstNonEmpty(last.Type, "error") + ": " + oneLineText(last.Value)
		frames := sentryFrames(last)
		for i := len(frames) - 1; i >= 0; i-- {
			f := frames[i]
			fmt.Fprintf(&b, "%s(...)\n\t%s:%d\n", qualified(f.Module, f.fn), f.path, f.line)
		}
		return b.String(), head, nil
	}
	return "", "", fmt.Errorf("platform %q: no stack format for it (supported: python, javascript, node, java, go)", platform)
}

// sentryFrames returns the frames that name a file, oldest call first.
func sentryFrames(e sentryException) []sentryFrame {
	if e.Stacktrace == nil {
		return nil
	}
	var out []sentryFrame
	for _, f := range e.Stacktrace.Frames {
		if f.path == "" || strings.ContainsAny(f.path+f.fn, "\n\r") {
			continue
		}
		out = append(out, f)
	}
	return out
}

// pyTypeName is the exception class as Python prints it: builtins bare,
// others with their module.
func pyTypeName(e sentryException) string {
	if e.Module == "" || e.Module == "builtins" || e.Module == "exceptions" {
		return firstNonEmpty(e.Type, "Exception")
	}
	return e.Module + "." + firstNonEmpty(e.Type, "Exception")
}

func javaTypeName(e sentryException) string {
	return qualified(e.Module, firstNonEmpty(e.Type, "java.lang.Exception"))
}

func qualified(module, name string) string {
	if module == "" || strings.HasPrefix(name, module+".") {
		return name
	}
	return module + "." + name
}

func pathBase(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
