package codeactions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Verdict is the outcome of validating a fix.
type Verdict int

const (
	// Unchecked: the tool to check the language is missing, or the file
	// did not build before the fix either, so the fix could not be judged.
	// Such fixes are offered with validated=false.
	Unchecked Verdict = iota
	// Valid: the fixed file builds (Go), compiles (Python, Java) or parses
	// (Node), and Go source is gofmt-clean.
	Valid
	// Invalid: the fix breaks the build; it is not offered.
	Invalid
)

// Validation is a verdict with the reason.
type Validation struct {
	Verdict Verdict
	Detail  string // the tool's complaint, or why the fix was not checked
}

// Request names the file a fix changes.
type Request struct {
	IncidentID string
	Root       string // workspace root, absolute
	Path       string // repo-relative
	Before     []byte // the content the fix was made from
	After      []byte // the fixed content
}

// Validator checks fixes with the languages' own tools and caches the
// verdicts per incident and fixed content. The zero value is not usable:
// call NewValidator.
type Validator struct {
	// Timeout bounds one tool run (a Go build of the package).
	Timeout time.Duration
	mu      sync.Mutex
	cache   map[string]Validation
}

// NewValidator returns a validator with a two-minute tool timeout.
func NewValidator() *Validator {
	return &Validator{Timeout: 2 * time.Minute, cache: map[string]Validation{}}
}

// Validate checks req.After, using a cached verdict when the same incident
// was checked with the same content. A cancelled context yields Unchecked
// and is not cached.
func (v *Validator) Validate(ctx context.Context, req Request) Validation {
	sum := sha256.Sum256(req.After)
	key := fmt.Sprintf("%s\x00%s\x00%x", req.IncidentID, req.Path, sum)
	v.mu.Lock()
	if r, ok := v.cache[key]; ok {
		v.mu.Unlock()
		return r
	}
	v.mu.Unlock()
	r := v.validate(ctx, req)
	if ctx.Err() != nil {
		return Validation{Unchecked, "cancelled"}
	}
	v.mu.Lock()
	v.cache[key] = r
	v.mu.Unlock()
	return r
}

// checker compiles one version of the file and returns the complaint.
// errMissing reports that the tool is not installed.
type checker func(ctx context.Context, content []byte) error

var errMissing = errors.New("tool not installed")

func (v *Validator) validate(ctx context.Context, req Request) Validation {
	abs := filepath.Join(req.Root, filepath.FromSlash(req.Path))
	var check checker
	switch strings.ToLower(filepath.Ext(req.Path)) {
	case ".go":
		if f, err := format.Source(req.After); err != nil || !bytes.Equal(f, req.After) {
			return Validation{Invalid, "not gofmt-clean"}
		}
		check = v.goBuild(req.Root, abs)
	case ".py":
		check = v.tool("python3", filepath.Base(abs), func(f string) []string { return []string{"-m", "py_compile", f} })
	case ".js", ".cjs", ".mjs":
		check = v.tool("node", filepath.Base(abs), func(f string) []string { return []string{"--check", f} })
	case ".java":
		check = v.javac(abs, req.After)
	default:
		return Validation{Unchecked, "no checker for " + filepath.Ext(req.Path)}
	}
	err := check(ctx, req.After)
	switch {
	case err == nil:
		return Validation{Verdict: Valid}
	case errors.Is(err, errMissing):
		return Validation{Unchecked, err.Error()}
	case ctx.Err() != nil:
		return Validation{Unchecked, ctx.Err().Error()}
	}
	// A file that did not build before the fix says nothing about the fix.
	if before := check(ctx, req.Before); before != nil {
		return Validation{Unchecked, "the file does not build without the fix either: " + firstLine(before.Error())}
	}
	return Validation{Invalid, err.Error()}
}

// goBuild builds the file's package with the content overlaid, in the
// module holding the file.
func (v *Validator) goBuild(root, abs string) checker {
	return func(ctx context.Context, content []byte) error {
		modDir := moduleDir(root, filepath.Dir(abs))
		if modDir == "" {
			return fmt.Errorf("%w: no go.mod above %s", errMissing, abs)
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("%w: go", errMissing)
		}
		tmp, err := os.MkdirTemp("", "faultline-fix-*")
		if err != nil {
			return fmt.Errorf("validate %s: %w", abs, err)
		}
		defer os.RemoveAll(tmp)
		fixed := filepath.Join(tmp, filepath.Base(abs))
		overlay := filepath.Join(tmp, "overlay.json")
		ov, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: fixed}})
		if err := os.WriteFile(fixed, content, 0o644); err != nil {
			return fmt.Errorf("validate %s: %w", abs, err)
		}
		if err := os.WriteFile(overlay, ov, 0o644); err != nil {
			return fmt.Errorf("validate %s: %w", abs, err)
		}
		rel, err := filepath.Rel(modDir, filepath.Dir(abs))
		if err != nil {
			return fmt.Errorf("validate %s: %w", abs, err)
		}
		pkg := "./" + filepath.ToSlash(rel)
		return v.run(ctx, modDir, goBin, "build", "-overlay", overlay, "-o", os.DevNull, pkg)
	}
}

// tool runs a checker that takes the file (written to a temp dir under its
// own name) as its last argument.
func (v *Validator) tool(name, base string, args func(file string) []string) checker {
	return func(ctx context.Context, content []byte) error {
		bin, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("%w: %s", errMissing, name)
		}
		tmp, err := os.MkdirTemp("", "faultline-fix-*")
		if err != nil {
			return fmt.Errorf("validate with %s: %w", name, err)
		}
		defer os.RemoveAll(tmp)
		f := filepath.Join(tmp, base)
		if err := os.WriteFile(f, content, 0o644); err != nil {
			return fmt.Errorf("validate with %s: %w", name, err)
		}
		return v.run(ctx, tmp, bin, args(f)...)
	}
}

var javaPackage = regexp.MustCompile(`(?m)^\s*package\s+([\w.]+)\s*;`)

// javac compiles the file with the project's sources on the source path,
// so that classes it uses are found; without a package declaration it
// compiles the file alone. A class the project lacks (a dependency jar)
// fails both before and after the fix, which Validate reports as
// Unchecked, not Invalid.
func (v *Validator) javac(abs string, after []byte) checker {
	srcRoot := filepath.Dir(abs)
	if m := javaPackage.FindSubmatch(after); m != nil {
		for range strings.Split(string(m[1]), ".") {
			srcRoot = filepath.Dir(srcRoot)
		}
	}
	return func(ctx context.Context, content []byte) error {
		out, err := os.MkdirTemp("", "faultline-javac-*")
		if err != nil {
			return fmt.Errorf("validate with javac: %w", err)
		}
		defer os.RemoveAll(out)
		return v.tool("javac", filepath.Base(abs), func(f string) []string {
			return []string{"-proc:none", "-implicit:none", "-nowarn", "-d", out, "-sourcepath", srcRoot, f}
		})(ctx, content)
	}
}

func (v *Validator) run(ctx context.Context, dir, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, v.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", filepath.Base(bin), args[0], ctx.Err())
		}
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), args[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

// moduleDir returns the nearest directory from dir up to root holding a
// go.mod, or "".
func moduleDir(root, dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if dir == root || !strings.HasPrefix(dir, root) {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
