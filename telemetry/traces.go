package telemetry

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/incident"
)

// TracesConfig configures the trace enricher. Token comes from the
// environment (FAULTLINE_TRACES_TOKEN), never from the workspace config.
type TracesConfig struct {
	Kind  string // "tempo" or "jaeger"
	URL   string // base URL, e.g. http://127.0.0.1:3200 (Tempo), http://127.0.0.1:16686 (Jaeger)
	OrgID string // X-Scope-OrgID for multi-tenant Tempo
	Token string // bearer token
	// MaxTraces is how many of an incident's trace ids are fetched
	// (default 3): one trace usually tells the story, a few show whether
	// it is always the same one.
	MaxTraces int
	// MaxBytes bounds a trace response (default 32 MiB).
	MaxBytes   int64
	HTTPClient *http.Client
}

// Traces finds, in the traces of an incident, the span where the request
// failed and the service boundary it crossed. It implements
// analysis.Enricher.
type Traces struct {
	cfg    TracesConfig
	base   *url.URL
	client *http.Client
}

// NewTraces checks cfg and fills in defaults.
func NewTraces(cfg TracesConfig) (*Traces, error) {
	if cfg.Kind != "tempo" && cfg.Kind != "jaeger" {
		return nil, fmt.Errorf("traces kind %q: want tempo or jaeger", cfg.Kind)
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s url %q: want http(s)://host[:port]", cfg.Kind, redactURL(cfg.URL))
	}
	if cfg.MaxTraces <= 0 {
		cfg.MaxTraces = 3
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 32 << 20
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &Traces{cfg: cfg, base: u, client: client}, nil
}

// Name is the kind and the URL without credentials: "tempo:http://...".
func (t *Traces) Name() string { return t.cfg.Kind + ":" + t.base.Redacted() }

// traceIDRe accepts the ids trace stores know: 64- or 128-bit hex.
var traceIDRe = regexp.MustCompile(`^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$`)

// Enrich implements analysis.Enricher. It reads the first MaxTraces trace
// ids; traces the store does not have (404) give no evidence. Traces that
// tell the same story are reported once. A failure to read traces is an
// error only when no trace could be read at all.
func (t *Traces) Enrich(ctx context.Context, inc incident.Incident) ([]incident.Evidence, error) {
	type story struct {
		id, text string
		traces   int
	}
	var stories []story
	var firstErr error
	fetched := 0
	for _, id := range inc.TraceIDs {
		if fetched == t.cfg.MaxTraces {
			break
		}
		if !traceIDRe.MatchString(id) {
			continue
		}
		fetched++
		spans, err := t.fetch(ctx, id)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		text, ok := explainTrace(spans)
		if !ok {
			continue
		}
		dup := false
		for i := range stories {
			if stories[i].text == text {
				stories[i].traces++
				dup = true
			}
		}
		if !dup {
			stories = append(stories, story{id, text, 1})
		}
	}
	if len(stories) == 0 && firstErr != nil {
		return nil, firstErr
	}
	var out []incident.Evidence
	for _, s := range stories {
		text := fmt.Sprintf("trace %s: %s", shortID(s.id), s.text)
		if s.traces > 1 {
			text += fmt.Sprintf(" (same in %d traces)", s.traces)
		}
		out = append(out, incident.Evidence{Kind: "trace", Text: text})
	}
	return out, nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return strings.ToLower(id[:8]) + "…"
	}
	return id
}

// errTraceNotFound marks a trace the store does not hold (any more).
var errTraceNotFound = errors.New("trace not found")

// fetch reads one trace; a 404 yields no spans and no error.
func (t *Traces) fetch(ctx context.Context, id string) ([]span, error) {
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/traces/" + url.PathEscape(strings.ToLower(id))
	u.User = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json") // Tempo answers protobuf otherwise
	if t.cfg.OrgID != "" {
		req.Header.Set("X-Scope-OrgID", t.cfg.OrgID)
	}
	if t.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+t.cfg.Token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch trace %s from %s: %w", id, t.Name(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("fetch trace %s from %s: %s: %s", id, t.Name(), resp.Status, strings.TrimSpace(string(msg)))
	}
	body := io.LimitReader(resp.Body, t.cfg.MaxBytes)
	var spans []span
	if t.cfg.Kind == "jaeger" {
		spans, err = decodeJaeger(body)
	} else {
		spans, err = decodeOTLP(body)
	}
	if errors.Is(err, errTraceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trace %s from %s: %w", id, t.Name(), err)
	}
	return spans, nil
}

// span is what the explanation needs of a span, whatever store it came from.
type span struct {
	ID, Parent string
	Service    string
	Name       string
	Start      time.Time
	Duration   time.Duration
	Error      bool
	Message    string // status message or error message, when given
	HTTPStatus int
	Client     bool   // a client span: the call out of its service
	Peer       string // the called service of a client span, when named
}

// spanTree indexes a trace's spans by id.
type spanTree map[string]*span

func (t spanTree) parent(s *span) *span {
	if p := t[s.Parent]; p != nil && p != s {
		return p
	}
	return nil
}

// failing returns the deepest error span, the earliest on a tie: the error
// the others propagated. Depth is bounded so a cyclic trace cannot hang.
func (t spanTree) failing(spans []span) *span {
	var found *span
	best := -1
	for i := range spans {
		s := &spans[i]
		if !s.Error {
			continue
		}
		d := 0
		for p := t.parent(s); p != nil && d <= len(spans); p = t.parent(p) {
			d++
		}
		if d > best || (d == best && s.Start.Before(found.Start)) {
			found, best = s, d
		}
	}
	return found
}

// explainTrace finds the failing span, climbs to where its service was
// entered, and names the service that called it. It reports false when no
// span failed.
func explainTrace(spans []span) (string, bool) {
	tree := make(spanTree, len(spans))
	for i := range spans {
		tree[spans[i].ID] = &spans[i]
	}
	failing := tree.failing(spans)
	if failing == nil {
		return "", false
	}
	service, entry := failing.Service, failing
	for p, n := tree.parent(entry), 0; p != nil && p.Service == service && n <= len(spans); p, n = tree.parent(p), n+1 {
		entry = p
	}
	var b strings.Builder
	switch caller := tree.parent(entry); {
	case failing.Client && failing.Peer != "" && failing.Peer != service:
		// The callee left no spans: the boundary is the call itself.
		fmt.Fprintf(&b, "%s → %s: %s failed", service, failing.Peer, failing.Name)
		entry, service = failing, failing.Peer+" (not traced)"
	case caller != nil:
		fmt.Fprintf(&b, "%s → %s: %s failed", caller.Service, service, entry.Name)
	default:
		fmt.Fprintf(&b, "%s: %s failed", service, entry.Name)
	}
	var detail []string
	if status := cmp.Or(entry.HTTPStatus, failing.HTTPStatus); status != 0 {
		detail = append(detail, fmt.Sprintf("status %d", status))
	}
	if entry.Duration > 0 {
		detail = append(detail, roundDuration(entry.Duration).String())
	}
	if len(detail) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(detail, ", "))
	}
	if failing != entry {
		fmt.Fprintf(&b, "; innermost error in %s", failing.Name)
	}
	if msg := cmp.Or(failing.Message, entry.Message); msg != "" {
		fmt.Fprintf(&b, ": %s", clip(msg, 120))
	}
	fmt.Fprintf(&b, "; the error started in %s", service)
	return b.String(), true
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// spanID normalises a span id to lower-case hex: OTLP JSON writes hex,
// Tempo's /api/traces writes the protobuf bytes as base64.
func spanID(s string) string {
	if s == "" {
		return ""
	}
	if _, err := hex.DecodeString(s); err == nil && (len(s) == 16 || len(s) == 32) {
		return strings.ToLower(s)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
		return hex.EncodeToString(b)
	}
	return s
}

// OTLP JSON as Tempo serves it: /api/traces/{id} answers {"batches":[...]}
// (older versions name scopeSpans instrumentationLibrarySpans),
// /api/v2/traces/{id} {"trace":{"resourceSpans":[...]}}; the OTLP/JSON
// export shape is {"resourceSpans":[...]}. All three are accepted.
type otlpDoc struct {
	Batches       []otlpResourceSpans `json:"batches"`
	ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	Trace         *struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	} `json:"trace"`
}

type otlpResourceSpans struct {
	Resource struct {
		Attributes []otlpKV `json:"attributes"`
	} `json:"resource"`
	ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
	ILSpans    []otlpScopeSpans `json:"instrumentationLibrarySpans"`
}

type otlpScopeSpans struct {
	Spans []otlpSpan `json:"spans"`
}

type otlpSpan struct {
	SpanID       string          `json:"spanId"`
	ParentSpanID string          `json:"parentSpanId"`
	Name         string          `json:"name"`
	Kind         json.RawMessage `json:"kind"`
	Start        json.Number     `json:"startTimeUnixNano"`
	End          json.Number     `json:"endTimeUnixNano"`
	Attributes   []otlpKV        `json:"attributes"`
	Status       struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	} `json:"status"`
	Events []struct {
		Name       string   `json:"name"`
		Attributes []otlpKV `json:"attributes"`
	} `json:"events"`
}

type otlpKV struct {
	Key   string `json:"key"`
	Value struct {
		StringValue *string         `json:"stringValue"`
		IntValue    json.RawMessage `json:"intValue"` // a string in OTLP JSON, a number from some writers
		BoolValue   *bool           `json:"boolValue"`
	} `json:"value"`
}

// attr returns an attribute as a string ("" when absent).
func attr(kvs []otlpKV, keys ...string) string {
	for _, k := range keys {
		for _, kv := range kvs {
			if kv.Key != k {
				continue
			}
			switch v := kv.Value; {
			case v.StringValue != nil:
				return *v.StringValue
			case len(v.IntValue) > 0:
				return strings.Trim(string(v.IntValue), `"`)
			case v.BoolValue != nil:
				return fmt.Sprint(*v.BoolValue)
			}
		}
	}
	return ""
}

// enumIs matches a protobuf enum written as a number (2) or a name
// ("STATUS_CODE_ERROR").
func enumIs(raw json.RawMessage, num, name string) bool {
	s := strings.Trim(string(raw), `"`)
	return s == num || s == name
}

func decodeOTLP(r io.Reader) ([]span, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var doc otlpDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode OTLP JSON: %w", err)
	}
	batches := append(doc.Batches, doc.ResourceSpans...)
	if doc.Trace != nil {
		batches = append(batches, doc.Trace.ResourceSpans...)
	}
	var out []span
	for _, rs := range batches {
		service := attr(rs.Resource.Attributes, "service.name")
		for _, ss := range append(rs.ScopeSpans, rs.ILSpans...) {
			for _, s := range ss.Spans {
				out = append(out, otlpToSpan(s, service))
			}
		}
	}
	return out, nil
}

func otlpToSpan(s otlpSpan, service string) span {
	start, _ := s.Start.Int64()
	end, _ := s.End.Int64()
	sp := span{
		ID: spanID(s.SpanID), Parent: spanID(s.ParentSpanID), Service: service, Name: s.Name,
		Start:   time.Unix(0, start),
		Error:   enumIs(s.Status.Code, "2", "STATUS_CODE_ERROR"),
		Message: s.Status.Message,
		Client:  enumIs(s.Kind, "3", "SPAN_KIND_CLIENT"),
		Peer:    attr(s.Attributes, "peer.service"),
	}
	if end > start {
		sp.Duration = time.Duration(end - start)
	}
	fmt.Sscan(attr(s.Attributes, "http.response.status_code", "http.status_code"), &sp.HTTPStatus)
	for _, e := range s.Events {
		if m := attr(e.Attributes, "exception.message"); e.Name == "exception" && m != "" && sp.Message == "" {
			sp.Message = m
		}
	}
	return sp
}

// Jaeger's query API: /api/traces/{id} answers {"data":[{"traceID",
// "spans":[...],"processes":{...}}],"errors":null}; times in microseconds;
// a missing trace is a 404 with {"data":null,"errors":[{"code":404,...}]}.
type jaegerDoc struct {
	Data []struct {
		Spans []struct {
			SpanID        string `json:"spanID"`
			ParentSpanID  string `json:"parentSpanID"` // older versions
			OperationName string `json:"operationName"`
			References    []struct {
				RefType string `json:"refType"`
				SpanID  string `json:"spanID"`
			} `json:"references"`
			StartTime int64      `json:"startTime"`
			Duration  int64      `json:"duration"`
			Tags      []jaegerKV `json:"tags"`
			Logs      []struct {
				Fields []jaegerKV `json:"fields"`
			} `json:"logs"`
			ProcessID string `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type jaegerKV struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func tag(kvs []jaegerKV, keys ...string) string {
	for _, k := range keys {
		for _, kv := range kvs {
			if kv.Key == k {
				return strings.Trim(string(kv.Value), `"`)
			}
		}
	}
	return ""
}

func decodeJaeger(r io.Reader) ([]span, error) {
	var doc jaegerDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode Jaeger JSON: %w", err)
	}
	if len(doc.Data) == 0 && len(doc.Errors) > 0 {
		if doc.Errors[0].Code == http.StatusNotFound {
			return nil, errTraceNotFound
		}
		return nil, fmt.Errorf("jaeger: %s", doc.Errors[0].Msg)
	}
	var out []span
	for _, tr := range doc.Data {
		for _, s := range tr.Spans {
			sp := span{
				ID: strings.ToLower(s.SpanID), Parent: strings.ToLower(s.ParentSpanID),
				Service:  tr.Processes[s.ProcessID].ServiceName,
				Name:     s.OperationName,
				Start:    time.UnixMicro(s.StartTime),
				Duration: time.Duration(s.Duration) * time.Microsecond,
				Error:    tag(s.Tags, "error") == "true" || tag(s.Tags, "otel.status_code") == "ERROR",
				Message:  tag(s.Tags, "otel.status_description", "error.message"),
				Client:   tag(s.Tags, "span.kind") == "client",
				Peer:     tag(s.Tags, "peer.service"),
			}
			for _, ref := range s.References {
				if ref.RefType == "CHILD_OF" || sp.Parent == "" {
					sp.Parent = strings.ToLower(ref.SpanID)
				}
			}
			fmt.Sscan(tag(s.Tags, "http.response.status_code", "http.status_code"), &sp.HTTPStatus)
			for _, l := range s.Logs {
				if m := tag(l.Fields, "exception.message", "error.object", "message"); m != "" && sp.Message == "" && sp.Error {
					sp.Message = m
				}
			}
			out = append(out, sp)
		}
	}
	return out, nil
}
