package fakegithub

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// BareRepo returns Heads that read branches from the git repository at
// path (bare or not) at each call, so pushes made after the server started
// are seen, as GitHub sees them.
func BareRepo(path string) Heads {
	return func(branch string) (string, bool, error) {
		if branch == "" || plumbing.ReferenceName("refs/heads/"+branch).Validate() != nil {
			return "", false, nil
		}
		r, err := git.PlainOpen(path)
		if err != nil {
			return "", false, fmt.Errorf("open repository %s: %w", path, err)
		}
		ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("read branch %s of %s: %w", branch, path, err)
		}
		return ref.Hash().String(), true, nil
	}
}
