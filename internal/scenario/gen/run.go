package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/scenario"
)

// runOutput is what one execution of the deployed program printed.
type runOutput struct {
	Incident string // IncidentSpec.ID the run was meant to trigger
	Stdout   string
	Stderr   string
	Crashed  bool // the output names the incident's deployed line
	Column   int  // column printed with that line (node), 0 otherwise
}

// buildAndRun copies the deployed commit to the production build path,
// builds it and runs every input, then removes what it created.
func buildAndRun(ctx context.Context, s *scenario.Scenario) ([]runOutput, error) {
	b := s.Meta.Build
	cleanup, err := prepareDir(b.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := s.WriteTree(b.Dir, s.Deployed().Commit); err != nil {
		return nil, err
	}
	work := filepath.Join(b.Dir, filepath.FromSlash(b.Workdir))
	env := append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0",
		"GOFLAGS=-buildvcs=false", "PYTHONDONTWRITEBYTECODE=1")
	for k, v := range b.Env {
		env = append(env, k+"="+v)
	}
	for _, c := range b.Commands {
		cmd := exec.CommandContext(ctx, c[0], c[1:]...)
		cmd.Dir, cmd.Env = work, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %v in %s: %w\n%s", c, work, err, out)
		}
	}
	var outs []runOutput
	for _, in := range s.Meta.Incidents {
		for _, r := range in.Runs {
			for i := 0; i < max(r.Repeat, 1); i++ {
				o, err := runOnce(ctx, work, env, b.Run, r)
				if err != nil {
					return nil, err
				}
				o.Incident = in.ID
				outs = append(outs, o)
			}
		}
	}
	return outs, nil
}

func runOnce(ctx context.Context, dir string, env, prefix []string, r scenario.Run) (runOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := append(append([]string{}, prefix[1:]...), r.Args...)
	cmd := exec.CommandContext(ctx, prefix[0], args...)
	cmd.Dir = dir
	cmd.Env = append([]string{}, env...)
	for k, v := range r.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(r.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return runOutput{}, fmt.Errorf("run %v: %w", cmd.Args, err)
	}
	if ctx.Err() != nil {
		return runOutput{}, fmt.Errorf("run %v: timed out", cmd.Args)
	}
	return runOutput{Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

// prepareDir creates dir, refusing to touch one that exists, and returns a
// cleanup that removes everything it created.
func prepareDir(dir string) (func(), error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("build dir %q is not absolute", dir)
	}
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("build dir %s already exists; refusing to overwrite it", dir)
	}
	top := dir
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil {
			break
		}
		top = p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create build dir: %w", err)
	}
	return func() { os.RemoveAll(top) }, nil
}

var unescape = strings.NewReplacer(`\"`, `"`, `\n`, "\n", `\t`, "\t", `\\`, `\`)

// mention finds the deployed line in a run's output the way the language's
// runtime prints it, and the column when one is printed.
func mention(lang, out, file string, line int) (bool, int) {
	out = unescape.Replace(out)
	base := regexp.QuoteMeta(filepath.Base(file))
	n := strconv.Itoa(line)
	var re *regexp.Regexp
	switch lang {
	case "python":
		// A printed traceback, or one logged as data (structlog's
		// dict_tracebacks: "filename": "...x.py", "lineno": 12).
		re = regexp.MustCompile(base + `"(?:, line |,\s*"lineno":\s*)` + n + `\b`)
	case "java":
		// A printed frame, or one logged as data (log4j2's JsonLayout:
		// "file":"X.java","line":12).
		re = regexp.MustCompile(`\(` + base + `:` + n + `\)|"file":\s*"` + base + `",\s*"line":\s*` + n + `\b`)
	case "node":
		re = regexp.MustCompile(base + `:` + n + `:(\d+)`)
	default:
		re = regexp.MustCompile(base + `:` + n + `\b`)
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		return false, 0
	}
	col := 0
	if len(m) > 1 {
		col, _ = strconv.Atoi(m[1])
	}
	return true, col
}

// countCrashes marks the runs whose output names their incident's deployed
// line, fills Count (and Column when the line is unchanged at HEAD) and
// fails when an incident never happened.
func countCrashes(s *scenario.Scenario, exp *scenario.Expect, runs []runOutput) error {
	head, err := s.WorkingTree(false)
	if err != nil {
		return err
	}
	dep, err := s.TreeAt(s.Deployed().Commit, false)
	if err != nil {
		return err
	}
	for i := range exp.Incidents {
		in := &exp.Incidents[i]
		for j := range runs {
			r := &runs[j]
			if r.Incident != in.ID {
				continue
			}
			r.Crashed, r.Column = mention(s.Meta.Language, r.Stdout+r.Stderr, in.DeployedFile, in.DeployedLine)
			if r.Crashed {
				in.Count++
				if r.Column > 0 && lineText(head[in.File], in.Line) == lineText(dep[in.DeployedFile], in.DeployedLine) {
					in.Column = r.Column
				}
			}
		}
		if in.Count == 0 {
			return fmt.Errorf("incident %q: no run printed %s:%d; outputs:\n%s", in.ID, in.DeployedFile, in.DeployedLine, dump(runs))
		}
	}
	return nil
}

func lineText(b []byte, n int) string {
	lines := strings.Split(string(b), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

func runsOf(runs []runOutput, id string) int {
	n := 0
	for _, r := range runs {
		if r.Incident == id {
			n++
		}
	}
	return n
}

func dump(runs []runOutput) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "--- %s stdout:\n%s--- stderr:\n%s", r.Incident, r.Stdout, r.Stderr)
	}
	return b.String()
}
