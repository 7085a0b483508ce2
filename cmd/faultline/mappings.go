package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/analysis/pathmap"
	"github.com/faultline-dev/faultline/config"
)

// runMappings prints the path rules Faultline worked out by itself (one per
// Go module, one per production prefix it stripped while mapping the logs)
// as a path_rules snippet for .faultline.yaml. Committing them turns
// guesses into reviewed configuration: the next mapping is a rule, not a
// heuristic, and a refactor that breaks it shows up in review.
func runMappings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mappings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", ".", "the repository (workspace root)")
	var sf sourceFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	root, cfg, err := loadWorkspace(*repo)
	if err != nil {
		return err
	}
	var rules []pathmap.Rule
	if len(sf.logs) > 0 || len(sf.sources) > 0 {
		_, ws, err := analyseForExplain(ctx, root, cfg, &sf)
		if err != nil {
			return err
		}
		rules = ws.Mapper.DerivedRules()
		ws.Mapper.Close()
	} else {
		m, err := pathmap.New(root, pathOptions(cfg))
		if err != nil {
			return fmt.Errorf("index workspace %s: %w", root, err)
		}
		rules = m.DerivedRules()
		m.Close()
	}
	return writeRulesYAML(stdout, rules, cfg.PathRules, len(sf.logs)+len(sf.sources) > 0)
}

// writeRulesYAML prints rules not already configured as a path_rules
// snippet. The values come from log paths, which are untrusted: they go
// through the YAML encoder so that no path can inject other keys.
func writeRulesYAML(w io.Writer, derived []pathmap.Rule, configured []config.PathRule, fromLogs bool) error {
	have := map[config.PathRule]bool{}
	for _, r := range configured {
		have[r] = true
	}
	var fresh []config.PathRule
	for _, r := range derived {
		pr := config.PathRule{From: r.From, To: r.To}
		if !have[pr] {
			fresh = append(fresh, pr)
		}
	}
	fmt.Fprintf(w, "# Path rules derived by `faultline mappings` (%d derived, %d already in %s).\n",
		len(derived), len(derived)-len(fresh), config.FileName)
	if !fromLogs {
		fmt.Fprintln(w, "# Give --logs FILE to add the production prefixes seen in real traces.")
	}
	if len(fresh) == 0 {
		fmt.Fprintln(w, "# Nothing new to add.")
		return nil
	}
	fmt.Fprintf(w, "# Review, then add under path_rules in %s.\n", config.FileName)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		PathRules []config.PathRule `yaml:"path_rules"`
	}{fresh}); err != nil {
		return fmt.Errorf("render path rules: %w", err)
	}
	return enc.Close()
}
