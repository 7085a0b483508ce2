package telemetry

import "github.com/faultline-dev/faultline/incident"

// labelAliases lists, per standard label, the names other tools use for it,
// in order of preference: Prometheus/Loki conventions, OTel resource
// attributes (dotted, and as Loki rewrites them with underscores), and the
// generic app/job labels of Kubernetes and Promtail setups.
var labelAliases = []struct {
	name    string
	aliases []string
}{
	{incident.LabelService, []string{"service_name", "service.name", "app", "job"}},
	// deployment.environment.name (OTel semantic conventions 1.27 on)
	// reaches Loki, whose label names allow no dots, as
	// deployment_environment_name.
	{incident.LabelEnv, []string{"deployment_environment", "deployment.environment.name", "deployment_environment_name", "environment"}},
	{incident.LabelVersion, []string{"service_version", "service.version"}},
}

// unknownService is the value Loki 3 puts in its discovered service_name
// label when it found none; it names no service.
const unknownService = "unknown_service"

// detectedLevel is the structured metadata Loki 3 adds to every entry (by
// default) with the level it guessed from the line. A response not asked
// for categorized labels, and logcli's jsonl of one, list it among the
// stream's labels; the lines of one stack trace differ in it ("error" for
// the panic, "unknown" for a frame), so it would split their stream.
const detectedLevel = "detected_level"

// NormalizeLabels returns a copy of l in which the standard labels service,
// env and version are set from their aliases when missing. The alias that
// provided a value is dropped (it would only duplicate it), and so is
// Loki's detected_level, which names an entry, not its stream; every other
// label is kept. l itself is never modified.
func NormalizeLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for k, v := range l {
		if k != detectedLevel {
			out[k] = v
		}
	}
	for _, a := range labelAliases {
		if out[a.name] != "" {
			continue
		}
		for _, alias := range a.aliases {
			v := out[alias]
			if v == "" || (a.name == incident.LabelService && v == unknownService) {
				continue
			}
			out[a.name] = v
			delete(out, alias)
			break
		}
	}
	return out
}
