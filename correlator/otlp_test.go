package correlator_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/faultline-dev/faultline/correlator"
	"github.com/faultline-dev/faultline/incident"
)

// otlpAttr names the resource attribute a standard label comes from.
var otlpAttr = map[string]string{
	incident.LabelService: "service.name",
	incident.LabelEnv:     "deployment.environment.name",
	incident.LabelVersion: "service.version",
}

// otlpLogs groups events into resources the way the Collector's filelog
// receiver and resource processor would: one record per line.
func otlpLogs(evs []incident.Event) plog.Logs {
	ld := plog.NewLogs()
	index := map[string]plog.LogRecordSlice{}
	for _, e := range evs {
		key := incident.LabelsKey(e.Labels)
		recs, ok := index[key]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			for k, v := range e.Labels {
				name := otlpAttr[k]
				if name == "" {
					name = k
				}
				rl.Resource().Attributes().PutStr(name, v)
			}
			recs = rl.ScopeLogs().AppendEmpty().LogRecords()
			index[key] = recs
		}
		r := recs.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
		r.Body().SetStr(e.Line)
	}
	return ld
}

// postOTLP sends logs as the otlphttp exporter does.
func (f *pushFixture) postOTLP(t *testing.T, ld plog.Logs, jsonForm bool) {
	t.Helper()
	var body []byte
	var err error
	h := http.Header{}
	if jsonForm {
		body, err = (&plog.JSONMarshaler{}).MarshalLogs(ld)
		h.Set("Content-Type", "application/json")
	} else {
		body, err = (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		h.Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Encoding", "gzip")
	resp, msg := f.post(t, correlator.PathOTLPLogs, gzipped(body), h)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("otlp push: %s %s", resp.Status, msg)
	}
}

func TestOTLPLinesMatchPoll(t *testing.T) {
	want := polled(t, "demo")
	for _, jsonForm := range []bool{false, true} {
		t.Run(map[bool]string{false: "protobuf", true: "json"}[jsonForm], func(t *testing.T) {
			f := newPushFixture(t, "demo", correlator.PushConfig{})
			for i := 0; i < len(f.events); i += 50 {
				f.postOTLP(t, otlpLogs(f.events[i:min(i+50, len(f.events))]), jsonForm)
			}
			waitUntil(t, "the pushed incidents", func() bool { return equalSummaries(summary(f.incidents(t)), want) })
		})
	}
}

// TestOTLPException sends one crash as an SDK records an exception: one
// record with exception.type, exception.message and exception.stacktrace.
// It must land where the same crash read from stderr lines lands.
func TestOTLPException(t *testing.T) {
	want := polled(t, "demo")
	f := newPushFixture(t, "demo", correlator.PushConfig{})
	crash := firstPanic(t, f.events)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	for k, v := range crash[0].Labels {
		rl.Resource().Attributes().PutStr(otlpAttr[k], v)
	}
	r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetTimestamp(pcommon.NewTimestampFromTime(crash[0].Time))
	r.SetSeverityText("ERROR")
	r.Body().SetStr("request failed")
	var lines []string
	for _, e := range crash {
		lines = append(lines, e.Line)
	}
	r.Attributes().PutStr("exception.type", "runtime error")
	r.Attributes().PutStr("exception.message", strings.TrimPrefix(lines[0], "panic: "))
	r.Attributes().PutStr("exception.stacktrace", strings.Join(lines, "\n"))
	f.postOTLP(t, ld, false)
	var got []incident.Incident
	waitUntil(t, "the exception's incident", func() bool { got = f.incidents(t); return len(got) > 0 })
	in := got[0]
	if in.Location == nil {
		t.Fatalf("incident %s has no location", in.ID)
	}
	at := "at=" + in.Location.File + ":" + strconv.Itoa(in.Location.Line)
	if w, ok := want[in.ID]; !ok || !strings.Contains(w, at+" ") {
		t.Errorf("exception record made %s %s; the poll path has %v", in.ID, at, want)
	}
}

// firstPanic returns the lines of the first Go panic in the events: the
// lines of its stream written within a few milliseconds of its first line.
func firstPanic(t *testing.T, evs []incident.Event) []incident.Event {
	t.Helper()
	for i, e := range evs {
		if !strings.HasPrefix(e.Line, "panic: ") {
			continue
		}
		out := []incident.Event{e}
		key := incident.LabelsKey(e.Labels)
		for _, n := range evs[i+1:] {
			if incident.LabelsKey(n.Labels) != key {
				continue
			}
			if n.Time.Sub(out[len(out)-1].Time) > 50*time.Millisecond {
				break
			}
			out = append(out, n)
		}
		return out
	}
	t.Fatal("no panic in the scenario")
	return nil
}
