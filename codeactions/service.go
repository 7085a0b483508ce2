package codeactions

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/faultline-dev/faultline/incident"
)

// Service proposes validated rule fixes. The zero value is not usable:
// call NewService.
type Service struct {
	Fixers    []Fixer
	Validator *Validator
}

// NewService returns a service with every rule and a fresh validator.
func NewService() *Service {
	return &Service{Fixers: Fixers, Validator: NewValidator()}
}

// Proposal is a rule's change with its validation and diff.
type Proposal struct {
	Change
	Validation Validation
	Diff       string
}

// Fix renders the proposal in the check contract's form.
func (p Proposal) Fix() incident.Fix {
	return incident.Fix{Title: p.Title, Diff: p.Diff, Validated: p.Validation.Verdict == Valid, Source: "rule:" + p.Rule}
}

// WorkspaceFile resolves the repo-relative file of an incident inside
// root, refusing paths that leave the workspace (.., absolute paths,
// symbolic links pointing outside).
func WorkspaceFile(root, rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("fix target %q is not a repo-relative path", rel)
	}
	abs := filepath.Join(root, filepath.FromSlash(rel))
	if !within(root, abs) {
		return "", fmt.Errorf("fix target %q is outside the workspace %s", rel, root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve workspace %s: %w", root, err)
	}
	realFile, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve fix target %s: %w", rel, err)
	}
	if !within(realRoot, realFile) {
		return "", fmt.Errorf("fix target %q links outside the workspace %s", rel, root)
	}
	return abs, nil
}

func within(root, p string) bool {
	r, err := filepath.Rel(root, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

// Input builds a rule input for inc from content, the current text of its
// location file under root.
func (s *Service) Input(root string, inc incident.Incident, content []byte) (Input, error) {
	if inc.Location == nil || inc.Location.File == "" || inc.Location.Line <= 0 {
		return Input{}, fmt.Errorf("incident %s has no location in the workspace", inc.ID)
	}
	abs, err := WorkspaceFile(root, inc.Location.File)
	if err != nil {
		return Input{}, err
	}
	return Input{
		Incident: inc, Path: inc.Location.File, Line: inc.Location.Line, Content: content,
		Dir: os.DirFS(filepath.Dir(abs)), GoVersion: goVersion(root, filepath.Dir(abs)),
	}, nil
}

// Candidates runs the rules without validating: cheap enough for listing
// code actions.
func (s *Service) Candidates(in Input) []Change {
	return Propose(s.Fixers, in)
}

// Check validates one change and renders its diff.
func (s *Service) Check(ctx context.Context, root string, in Input, ch Change) Proposal {
	v := s.Validator.Validate(ctx, Request{IncidentID: in.Incident.ID, Root: root, Path: in.Path, Before: in.Content, After: ch.Content})
	return Proposal{Change: ch, Validation: v, Diff: UnifiedDiff(in.Path, in.Content, ch.Content)}
}

// Propose returns the rule fixes for inc that did not fail validation,
// best first. content is the current text of the location file; nil reads
// it from the working tree. Incidents not fixable by code get none.
func (s *Service) Propose(ctx context.Context, root string, inc incident.Incident, content []byte) ([]Proposal, error) {
	if inc.RootCause == nil || !inc.RootCause.Fixable || inc.Location == nil {
		return nil, nil
	}
	if content == nil {
		abs, err := WorkspaceFile(root, inc.Location.File)
		if err != nil {
			return nil, err
		}
		if content, err = os.ReadFile(abs); err != nil {
			return nil, fmt.Errorf("read %s for a fix: %w", inc.Location.File, err)
		}
	}
	in, err := s.Input(root, inc, content)
	if err != nil {
		return nil, err
	}
	var out []Proposal
	for _, ch := range s.Candidates(in) {
		p := s.Check(ctx, root, in, ch)
		if p.Validation.Verdict != Invalid {
			out = append(out, p)
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// goVersion reads the go line of the module holding dir.
func goVersion(root, dir string) string {
	m := moduleDir(root, dir)
	if m == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(m, "go.mod"))
	if err != nil {
		return ""
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil || f.Go == nil {
		return ""
	}
	return f.Go.Version
}
