package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/analysis/reassemble"
	"github.com/faultline-dev/faultline/analysis/stack"
	"github.com/faultline-dev/faultline/incident"
)

// fingerprintFrames is how many application frames name an error's identity:
// enough to tell two call paths apart, few enough that a refactor deep in the
// stack does not split one bug into many incidents.
const fingerprintFrames = 5

// Bounds that keep memory proportional to distinct incidents, not events.
const (
	maxVersionsPerGroup = 16
	maxTraceIDs         = 10
	maxBuckets          = 96
)

var (
	// Closure and lambda numbering moves when code is added around it.
	closureRe = regexp.MustCompile(`\.func\d+(\.\d+)*|\$\d+|\$\$Lambda\$[^.]*|0x[0-9a-fA-F]+|\[\d+\]`)
)

// Fingerprint is an error's identity: its type and the application functions
// it passed through, free of line numbers, addresses, goroutine ids and
// message literals, so that it is stable across deploys and machines.
func Fingerprint(tr incident.Trace) string {
	h := sha256.New()
	h.Write([]byte(tr.Language))
	h.Write([]byte{0})
	h.Write([]byte(tr.ErrorType))
	if cycle := recursionCycle(tr); len(cycle) > 0 {
		for _, fn := range cycle {
			h.Write([]byte{0})
			h.Write([]byte(fn))
		}
		return hex.EncodeToString(h.Sum(nil))[:16]
	}
	n := 0
	for _, f := range tr.Frames {
		if f.Library {
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(stableFunction(f.Function)))
		if n++; n == fingerprintFrames {
			break
		}
	}
	if n == 0 { // nothing but library frames: the top ones identify it
		for i, f := range tr.Frames {
			if i == 3 {
				break
			}
			h.Write([]byte{0})
			h.Write([]byte(stableFunction(f.Function)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// identity is the fingerprint and incident id of a trace.
type identity struct{ fingerprint, id string }

// maxIdentities bounds an identityMemo: past it, the memo starts over.
const maxIdentities = 4096

// identityMemo remembers the identity of the traces seen, by what it is
// computed from (service, environment, language, error type and the
// identity frames' function names as printed): in a crash storm the same
// few traces recur thousands of times, and two SHA-256 sums, their hex
// forms and the function names' clean-up were most of grouping one.
type identityMemo struct {
	key []byte
	ids map[string]identity
}

func (m *identityMemo) get(service, env string, tr incident.Trace) identity {
	if stack.IsStackOverflow(tr.ErrorType, tr.Message) {
		// Named by the functions that recur in many frames (see
		// recursionCycle), more than the key holds; and rare.
		fp := Fingerprint(tr)
		return identity{fingerprint: fp, id: IncidentID(service, env, fp)}
	}
	k := append(m.key[:0], service...)
	k = append(append(k, 0), env...)
	k = append(append(k, 0), tr.Language...)
	k = append(append(k, 0), tr.ErrorType...)
	n := 0
	for _, f := range tr.Frames {
		if f.Library {
			continue
		}
		k = append(append(k, 0), f.Function...)
		if n++; n == fingerprintFrames {
			break
		}
	}
	if n == 0 {
		k = append(k, 1) // library frames follow: not the same key as no frame
		for _, f := range tr.Frames[:min(3, len(tr.Frames))] {
			k = append(append(k, 0), f.Function...)
		}
	}
	m.key = k
	if id, ok := m.ids[string(k)]; ok {
		return id
	}
	fp := Fingerprint(tr)
	id := identity{fingerprint: fp, id: IncidentID(service, env, fp)}
	if m.ids == nil || len(m.ids) >= maxIdentities {
		m.ids = make(map[string]identity)
	}
	m.ids[string(k)] = id
	return id
}

// cycleFrames bounds the frames read for a recursion's cycle: a JVM prints
// 1024 frames of it, Go 100, V8 10.
const cycleFrames = 64

// recursionCycle names a stack overflow by the application functions that
// recur in its top frames, sorted: the overflow strikes wherever the last
// call ran out of stack, so the top frames of one bug are a rotation of
// its cycle (A.toJson, B.toJson, A.toJson... or B, A, B...), sometimes
// under a call made once (a StringBuilder, a map lookup). Nil for any
// other error, or when no function recurs.
func recursionCycle(tr incident.Trace) []string {
	if !stack.IsStackOverflow(tr.ErrorType, tr.Message) {
		return nil
	}
	seen := map[string]int{}
	for i, f := range tr.Frames {
		if i == cycleFrames {
			break
		}
		if !f.Library {
			seen[stableFunction(f.Function)]++
		}
	}
	var out []string
	for fn, n := range seen {
		if n > 1 {
			out = append(out, fn)
		}
	}
	sort.Strings(out)
	return out
}

// stableFunction drops from a function name what changes between builds
// (closure and lambda numbers, addresses, array indexes). Most names hold
// none of it, and the check spares them the regexp.
func stableFunction(fn string) string {
	if !strings.ContainsAny(fn, "$[") && !strings.Contains(fn, ".func") && !strings.Contains(fn, "0x") {
		return fn
	}
	return closureRe.ReplaceAllString(fn, "")
}

// IncidentID scopes a fingerprint to a service and environment: the id an
// incident has everywhere (check, the editor, the correlator's store).
func IncidentID(service, env, fp string) string {
	h := sha256.Sum256([]byte(service + "\x00" + env + "\x00" + fp))
	return hex.EncodeToString(h[:])[:12]
}

// group gathers the occurrences of one incident.
type group struct {
	id          string
	fingerprint string
	service     string
	env         string
	count       int
	first, last time.Time
	versions    map[string]*versionSample
	traceIDs    []string
	buckets     map[int64]int // occurrences per bucket of bucketWidth
}

// versionSample keeps one occurrence per version: lines are read at the
// commit deployed for that version.
type versionSample struct {
	version string
	count   int
	first   time.Time
	last    time.Time
	occ     reassemble.Occurrence
}

const bucketWidth = 5 * time.Minute

func (g *group) add(o reassemble.Occurrence, version string) {
	g.count++
	if g.first.IsZero() || o.Time.Before(g.first) {
		g.first = o.Time
	}
	if o.Time.After(g.last) {
		g.last = o.Time
	}
	vs := g.versions[version]
	if vs == nil {
		if len(g.versions) >= maxVersionsPerGroup {
			vs = g.versions[g.newestVersion()]
		} else {
			vs = &versionSample{version: version, first: o.Time, occ: o}
			g.versions[version] = vs
		}
	}
	vs.count++
	if o.Time.Before(vs.first) {
		vs.first = o.Time
	}
	if !o.Time.Before(vs.last) {
		vs.last = o.Time
		if !bareMessage(o.Trace, vs.occ.Trace) {
			vs.occ = o // the most recent occurrence explains the code closest to HEAD
		}
	}
	for _, id := range o.TraceIDs {
		if len(g.traceIDs) >= maxTraceIDs {
			break
		}
		if !contains(g.traceIDs, id) {
			g.traceIDs = append(g.traceIDs, id)
		}
	}
	b := o.Time.Truncate(bucketWidth).Unix()
	if _, ok := g.buckets[b]; ok || len(g.buckets) < maxBuckets {
		g.buckets[b]++
	}
}

// bareMessage reports whether a newer trace says only its error type
// where the sample says what failed: the JVM's replay of a failed static
// initializer ("java.lang.NullPointerException") after the helpful message
// of the first failure. The sample keeps the message the fix rules read.
func bareMessage(newer, sample incident.Trace) bool {
	return newer.ErrorType == sample.ErrorType && strings.TrimSpace(newer.Message) == newer.ErrorType &&
		strings.TrimSpace(sample.Message) != sample.ErrorType
}

// newestVersion is the version seen last: its sample is mapped to HEAD.
func (g *group) newestVersion() string {
	var best *versionSample
	for _, v := range g.versions {
		if best == nil || v.last.After(best.last) || (v.last.Equal(best.last) && v.version > best.version) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.version
}

// versionList returns the versions in order of first appearance.
func (g *group) versionList() []string {
	vs := make([]*versionSample, 0, len(g.versions))
	for _, v := range g.versions {
		if v.version != "" {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if !vs[i].first.Equal(vs[j].first) {
			return vs[i].first.Before(vs[j].first)
		}
		return vs[i].version < vs[j].version
	})
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.version
	}
	return out
}

// Timeline returns occurrence counts per bucket, oldest first.
func (g *group) timeline() []incident.Bucket {
	out := make([]incident.Bucket, 0, len(g.buckets))
	for t, n := range g.buckets {
		out = append(out, incident.Bucket{Start: time.Unix(t, 0).UTC(), Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mergeSplit folds into an earlier group the later groups that are the
// same failure fingerprinted apart, and returns the order without them.
// Two groups of one service and environment are one failure when their
// samples fail at the same application frame (function, file and line) and
//
//   - have the same error type and one's application functions are a
//     prefix of the other's: V8 cuts an async function's stack at its
//     first await, so the same throw has its callers printed in the runs
//     where it threw before the await and not in the others; or
//   - pass through the same application functions and their error types,
//     messages of a custom panic or error value, differ in one word only:
//     a literal of the request ("batch t-umbrella overflowed" and "batch
//     t-globex overflowed") that the numbers-only normalization keeps.
//
// A different error at the same line (another class, another message)
// stays apart.
func mergeSplit(groups map[string]*group, order []string) []string {
	type key struct {
		service, env, lang, fn, path string
		line                         int
	}
	type entry struct {
		g     *group
		tr    incident.Trace
		funcs []string
		at    int // index in out
	}
	byTop := map[key][]*entry{}
	out := order[:0:0]
	for _, id := range order {
		g := groups[id]
		tr := g.sample()
		funcs := appFunctions(tr)
		top, ok := topAppFrame(tr)
		if !ok || len(funcs) == 0 {
			out = append(out, id)
			continue
		}
		k := key{g.service, g.env, tr.Language, stableFunction(top.Function), top.Path, top.Line}
		merged := false
		for _, e := range byTop[k] {
			if !sameFailure(e.tr, e.funcs, tr, funcs) {
				continue
			}
			// The merged incident keeps the smaller id, whichever variant
			// a window of the logs met first: the editor and the next
			// poll name it alike.
			keep, drop := e.g, g
			if g.id < e.g.id {
				keep, drop = g, e.g
				e.g, e.tr, out[e.at] = g, tr, g.id
			}
			keep.absorb(drop)
			delete(groups, drop.id)
			if len(funcs) > len(e.funcs) {
				e.funcs = funcs
			}
			merged = true
			break
		}
		if !merged {
			byTop[k] = append(byTop[k], &entry{g: g, tr: tr, funcs: funcs, at: len(out)})
			out = append(out, id)
		}
	}
	return out
}

func sameFailure(a incident.Trace, af []string, b incident.Trace, bf []string) bool {
	if a.ErrorType == b.ErrorType {
		return isPrefix(af, bf) || isPrefix(bf, af)
	}
	if len(af) != len(bf) || !isPrefix(af, bf) {
		return false
	}
	return oneWordApart(a.ErrorType, b.ErrorType)
}

func isPrefix(short, long []string) bool {
	if len(short) > len(long) {
		return false
	}
	for i := range short {
		if short[i] != long[i] {
			return false
		}
	}
	return true
}

// oneWordApart reports whether two messages of at least three words differ
// in exactly one word, not the first.
func oneWordApart(a, b string) bool {
	wa, wb := strings.Fields(a), strings.Fields(b)
	if len(wa) != len(wb) || len(wa) < 3 || wa[0] != wb[0] {
		return false
	}
	diff := 0
	for i := range wa {
		if wa[i] != wb[i] {
			diff++
		}
	}
	return diff == 1
}

// appFunctions are the stable names of a trace's application frames, up to
// fingerprintFrames, as Fingerprint reads them.
func appFunctions(tr incident.Trace) []string {
	var out []string
	for _, f := range tr.Frames {
		if f.Library {
			continue
		}
		out = append(out, stableFunction(f.Function))
		if len(out) == fingerprintFrames {
			break
		}
	}
	return out
}

func topAppFrame(tr incident.Trace) (incident.Frame, bool) {
	for _, f := range tr.Frames {
		if !f.Library {
			return f, true
		}
	}
	return incident.Frame{}, false
}

// sample is the trace of the group's newest version.
func (g *group) sample() incident.Trace {
	if vs := g.versions[g.newestVersion()]; vs != nil {
		return vs.occ.Trace
	}
	return incident.Trace{}
}

// absorb adds the occurrences of h, the same failure, to g. A version's
// sample stays the most recent one, or the one with more frames when h's
// is a shorter cut of the same stack.
func (g *group) absorb(h *group) {
	g.count += h.count
	if !h.first.IsZero() && (g.first.IsZero() || h.first.Before(g.first)) {
		g.first = h.first
	}
	if h.last.After(g.last) {
		g.last = h.last
	}
	for v, hs := range h.versions {
		gs := g.versions[v]
		if gs == nil {
			if len(g.versions) < maxVersionsPerGroup {
				g.versions[v] = hs
			} else if n := g.versions[g.newestVersion()]; n != nil {
				n.count += hs.count
			}
			continue
		}
		gs.count += hs.count
		if hs.first.Before(gs.first) {
			gs.first = hs.first
		}
		if hs.last.After(gs.last) {
			gs.last = hs.last
		}
		if len(hs.occ.Trace.Frames) > len(gs.occ.Trace.Frames) && hs.occ.Trace.ErrorType == gs.occ.Trace.ErrorType ||
			hs.occ.Time.After(gs.occ.Time) && !bareMessage(hs.occ.Trace, gs.occ.Trace) && len(hs.occ.Trace.Frames) >= len(gs.occ.Trace.Frames) {
			gs.occ = hs.occ
		}
	}
	for _, id := range h.traceIDs {
		if len(g.traceIDs) >= maxTraceIDs {
			break
		}
		if !contains(g.traceIDs, id) {
			g.traceIDs = append(g.traceIDs, id)
		}
	}
	for b, n := range h.buckets {
		if _, ok := g.buckets[b]; ok || len(g.buckets) < maxBuckets {
			g.buckets[b] += n
		}
	}
}
