package correlator

// OTLP/HTTP logs (POST /v1/logs), as the OpenTelemetry Collector's otlphttp
// exporter and the OTel SDKs send them. A log record becomes one entry of
// the stream its resource names (service, env, version, instance): its body
// as the line, or, when it carries exception attributes, a structured line
// the reassembler reads as one whole trace.

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/store"
)

// otlpLabels maps resource attributes onto stream labels. The standard
// three become service/env/version; the instance attributes keep one
// process's lines apart, as separate Loki streams would (Loki spells them
// with underscores).
var otlpLabels = []struct{ attr, label string }{
	{"service.name", incident.LabelService},
	{"deployment.environment.name", incident.LabelEnv},
	{"deployment.environment", incident.LabelEnv},
	{"service.version", incident.LabelVersion},
	{"service.namespace", "service_namespace"},
	{"service.instance.id", "service_instance_id"},
	{"k8s.pod.name", "k8s_pod_name"},
	{"host.name", "host_name"},
}

func (p *pusher) handleOTLP(w http.ResponseWriter, r *http.Request) {
	ct, err := mediaType(r)
	var entries []store.PushedEntry
	if err == nil {
		entries, err = p.decodeOTLP(r, ct)
	}
	if err == nil {
		err = p.accept(r.Context(), entries)
	}
	p.answerPush(w, err, func(w http.ResponseWriter) {
		// An empty ExportLogsServiceResponse: full success.
		resp := plogotlp.NewExportResponse()
		var body []byte
		if ct == "application/json" {
			body, _ = resp.MarshalJSON()
		} else {
			body, _ = resp.MarshalProto()
			ct = "application/x-protobuf"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

func (p *pusher) decodeOTLP(r *http.Request, ct string) ([]store.PushedEntry, error) {
	body, err := readBody(r, p.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	tenant, err := tenantOf(r)
	if err != nil {
		return nil, err
	}
	req := plogotlp.NewExportRequest()
	switch ct {
	case "application/x-protobuf", "":
		if err := req.UnmarshalProto(body); err != nil {
			return nil, badRequest("otlp protobuf: %v", err)
		}
	case "application/json":
		if err := req.UnmarshalJSON(body); err != nil {
			return nil, badRequest("otlp json: %v", err)
		}
	default:
		return nil, &pushError{http.StatusUnsupportedMediaType, "content type " + ct + ": want application/x-protobuf or application/json"}
	}
	return otlpEntries(req.Logs(), tenant, p.c.cfg.Now()), nil
}

// otlpEntries flattens the records, resource by resource, in the order
// they were sent.
func otlpEntries(logs plog.Logs, tenant string, now time.Time) []store.PushedEntry {
	var out []store.PushedEntry
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		labels := resourceLabels(rl.Resource().Attributes())
		var entries []push.Entry
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				entries = append(entries, push.Entry{Timestamp: recordTime(lr, now), Line: recordLine(lr)})
			}
		}
		out = appendEntries(out, tenant, labels, entries)
	}
	return out
}

func resourceLabels(attrs pcommon.Map) map[string]string {
	labels := map[string]string{}
	for _, m := range otlpLabels {
		if _, taken := labels[m.label]; taken {
			continue
		}
		if v, ok := attrs.Get(m.attr); ok && v.AsString() != "" {
			labels[m.label] = cleanText(v.AsString())
		}
	}
	if len(labels) == 0 {
		labels[incident.LabelService] = "unknown_service"
	}
	return labels
}

func recordTime(lr plog.LogRecord, now time.Time) time.Time {
	if t := lr.Timestamp(); t != 0 {
		return t.AsTime()
	}
	if t := lr.ObservedTimestamp(); t != 0 {
		return t.AsTime()
	}
	return now
}

// recordLine is the body, or for a record carrying an exception (the OTel
// semantic conventions' exception.type, exception.message and
// exception.stacktrace) one JSON line holding all three, which the
// reassembler reads as a whole trace.
func recordLine(lr plog.LogRecord) string {
	attrs := lr.Attributes()
	get := func(k string) string {
		if v, ok := attrs.Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	typ, msg, stack := get("exception.type"), get("exception.message"), get("exception.stacktrace")
	body := lr.Body().AsString()
	if typ == "" && msg == "" && stack == "" {
		return body
	}
	obj := map[string]string{"level": "error"}
	for k, v := range map[string]string{"exception.type": typ, "exception.message": msg,
		"exception.stacktrace": stack, "msg": body} {
		if v != "" {
			obj[k] = v
		}
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		obj["trace_id"] = id.String()
	}
	b, _ := json.Marshal(obj)
	return string(b)
}
