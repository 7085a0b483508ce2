package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	faultline "github.com/faultline-dev/faultline"
	"github.com/faultline-dev/faultline/internal/scenario"
)

// demoDir is the embedded scenario the demo is built from.
const demoDir = "testdata/scenarios/demo"

// demoWorkspace is a built demo: a git repository with history plus the
// production logs and deploy events captured from its real crashes.
type demoWorkspace struct {
	Root    string      `json:"root"`
	Logs    string      `json:"logs"`
	Deploys string      `json:"deploys"`
	Expect  *demoExpect `json:"expect,omitempty"`
}

// demoExpect is the first expected incident, for editor end-to-end tests.
type demoExpect struct {
	File            string `json:"file"`
	Line            int    `json:"line"`
	MessageContains string `json:"messageContains"`
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder to build the demo workspace in (default: the user cache dir)")
	name := fs.String("scenario", "demo", "which embedded scenario to build (see testdata/scenarios)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d, err := buildScenario(ctx, "testdata/scenarios/"+*name, *out)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// buildDemo materialises the demo into out, or into a cache folder named by
// the demo's content hash so a second run reuses it.
func buildDemo(ctx context.Context, out string) (*demoWorkspace, error) {
	return buildScenario(ctx, demoDir, out)
}

func buildScenario(ctx context.Context, dir, out string) (*demoWorkspace, error) {
	s, err := scenario.Load(faultline.Scenarios, dir)
	if err != nil {
		return nil, fmt.Errorf("load the embedded demo: %w", err)
	}
	if out == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		sum, err := hashFS(faultline.Scenarios, dir)
		if err != nil {
			return nil, err
		}
		out = filepath.Join(cache, "faultline", s.Name+"-"+sum[:12])
	}
	d := &demoWorkspace{Root: filepath.Join(out, "repo")}
	inputs := filepath.Join(out, "telemetry")
	if _, err := os.Stat(filepath.Join(out, ".complete")); err != nil {
		if err := os.RemoveAll(out); err != nil {
			return nil, fmt.Errorf("clean demo folder %s: %w", out, err)
		}
		if _, err := s.Materialize(ctx, d.Root); err != nil {
			return nil, fmt.Errorf("build the demo repository in %s: %w", d.Root, err)
		}
		if _, _, err := s.WriteInputs(inputs); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, ".complete"), nil, 0o644); err != nil {
			return nil, fmt.Errorf("mark demo folder %s: %w", out, err)
		}
	}
	d.Logs = filepath.Join(inputs, scenario.LogsFile)
	d.Deploys = filepath.Join(inputs, scenario.DeploysFile)
	if s.Expect != nil && len(s.Expect.Incidents) > 0 {
		e := s.Expect.Incidents[0]
		d.Expect = &demoExpect{File: e.File, Line: e.Line, MessageContains: e.ErrorType}
	}
	return d, nil
}

// hashFS hashes every file under dir, so a changed demo is rebuilt.
func hashFS(fsys fs.FS, dir string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash the embedded demo: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
