// Command gen regenerates the production evidence of every scenario under
// testdata/scenarios: it materializes the repository, copies the deployed
// commit to the production build path the scenario names (/build/src/<svc>,
// /app, /srv/app, /usr/src/app), really builds and runs the program there
// with each input, and writes what came out as Loki entries among noise
// (logs.jsonl), the deploy events (deploys.jsonl) and the expectations
// derived from the marker comments (expect.json).
//
// Usage, from the module root (it creates and removes the build paths, so it
// must run as a user allowed to):
//
//	go run ./internal/scenario/gen [-root testdata/scenarios] [-only NAME]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/faultline-dev/faultline/internal/scenario"
)

func main() {
	root := flag.String("root", "testdata/scenarios", "folder holding the scenarios")
	only := flag.String("only", "", "comma-separated scenario names to regenerate (default all)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background(), *root, *only); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, root, only string) error {
	all, err := scenario.LoadAll(os.DirFS(root), ".")
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	done := 0
	for _, s := range all {
		if len(want) > 0 && !want[s.Name] {
			continue
		}
		if err := generate(ctx, s, filepath.Join(root, s.Name)); err != nil {
			return fmt.Errorf("generate %s: %w", s.Name, err)
		}
		done++
	}
	if done == 0 {
		return fmt.Errorf("no scenario matched %q", only)
	}
	return nil
}

// generate produces logs.jsonl, deploys.jsonl and expect.json of one
// scenario into outDir.
func generate(ctx context.Context, s *scenario.Scenario, outDir string) error {
	tmp, err := os.MkdirTemp("", "faultline-gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	shas, err := s.Materialize(ctx, filepath.Join(tmp, "repo"))
	if err != nil {
		return err
	}
	exp, err := s.ComputeExpect(shas)
	if err != nil {
		return err
	}
	runs, err := buildAndRun(ctx, s)
	if err != nil {
		return err
	}
	if err := countCrashes(s, exp, runs); err != nil {
		return err
	}
	logs := renderLogs(s, shas, runs)
	deploys := renderDeploys(s, shas)
	if err := writeJSONL(filepath.Join(outDir, scenario.LogsFile), logs); err != nil {
		return err
	}
	if err := writeJSONL(filepath.Join(outDir, scenario.DeploysFile), deploys); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(exp); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, scenario.ExpectFile), b.Bytes(), 0o644); err != nil {
		return err
	}
	for _, in := range exp.Incidents {
		log.Printf("%-28s %-10s %s:%d (deployed %s:%d) crashed %d/%d runs", s.Name, in.ID, in.File, in.Line,
			in.DeployedFile, in.DeployedLine, in.Count, runsOf(runs, in.ID))
	}
	return nil
}

func writeJSONL[T any](path string, rows []T) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
