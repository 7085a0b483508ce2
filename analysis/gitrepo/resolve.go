package gitrepo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// headState caches HEAD's commit together with a stamp of the files it was
// read from, so that asking for HEAD on every carry costs one small read and
// a stat or two rather than a go-git ref resolution.
type headState struct {
	stamp string
	hash  plumbing.Hash
}

// Head returns the full sha of the commit checked out (during a rebase: the
// commit git stopped at).
func (r *Repo) Head(ctx context.Context) (string, error) {
	h, err := r.headHash(ctx)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repo) headHash(ctx context.Context) (plumbing.Hash, error) {
	stamp := r.headStamp()
	r.mu.Lock()
	cached := r.head
	r.mu.Unlock()
	if stamp != "" && stamp == cached.stamp {
		return cached.hash, nil
	}
	var h plumbing.Hash
	err := r.withGit(ctx, func() error {
		ref, err := r.repo.Head()
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return ErrNoCommits
		}
		if err != nil {
			return err
		}
		h = ref.Hash()
		return nil
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read HEAD of %s: %w", r.root, err)
	}
	r.mu.Lock()
	r.head = headState{stamp: stamp, hash: h}
	r.mu.Unlock()
	return h, nil
}

// headStamp fingerprints HEAD: its content and, when it names a branch, the
// size and mtime of the loose ref and of packed-refs. Empty when HEAD cannot
// be read (never cached then).
func (r *Repo) headStamp() string {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	s := string(b)
	if ref, ok := strings.CutPrefix(strings.TrimSpace(s), "ref: "); ok {
		s += statStamp(filepath.Join(r.commonDir, filepath.FromSlash(ref)))
		s += statStamp(filepath.Join(r.commonDir, "packed-refs"))
	}
	return s
}

func statStamp(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "|none"
	}
	return fmt.Sprintf("|%d:%d", fi.ModTime().UnixNano(), fi.Size())
}

var (
	// git describe: v1.4.0-3-gabc1234
	describeRE = regexp.MustCompile(`-g([0-9a-f]{4,40})(?:-dirty)?$`)
	// Go pseudo-versions: v0.0.0-20231010123456-abcdef123456 and variants.
	pseudoRE = regexp.MustCompile(`^v\d+\.\d+\.\d+-(?:[0-9A-Za-z.-]+\.)?\d{14}-([0-9a-f]{12})(?:\+incompatible)?$`)
	// A version that embeds a short sha between separators, as CI
	// pipelines tag images: 2026.11.06-3f9c2ab, 1.4.0+3f9c2ab, main_3f9c2ab,
	// sha-3f9c2ab, and Flux's sortable main-3f9c2ab-1763631240.
	embeddedSHARE = regexp.MustCompile(`(?:^|[-+_.])([0-9a-f]{7,40})(?:[-+_.]|$)`)
)

// Resolve turns a version into a full commit sha. It accepts, in this order:
// a full sha; a tag (lightweight or annotated, also with a "v" added or
// removed), a branch, origin's branch; a `git describe` or Go pseudo-version
// naming a commit; a unique sha prefix of at least 4 hex digits. Errors wrap
// ErrUnknownVersion or ErrAmbiguous.
func (r *Repo) Resolve(ctx context.Context, version string) (string, error) {
	h, err := r.resolve(ctx, version)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repo) resolve(ctx context.Context, version string) (plumbing.Hash, error) {
	v := strings.TrimSpace(version)
	if v == "" {
		return plumbing.ZeroHash, fmt.Errorf("resolve version: empty: %w", ErrUnknownVersion)
	}
	if v == "HEAD" {
		return r.headHash(ctx)
	}
	r.mu.Lock()
	h, ok := r.resolved[v]
	r.mu.Unlock()
	if ok {
		return h, nil
	}
	var immutable bool
	err := r.withGit(ctx, func() error {
		var err error
		h, immutable, err = r.resolveLocked(v)
		return err
	})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolve version %q: %w", version, err)
	}
	if immutable {
		r.mu.Lock()
		r.resolved[v] = h
		r.mu.Unlock()
	}
	return h, nil
}

// resolveLocked does the lookups; immutable says whether the answer may be
// cached (shas never move; refs do).
func (r *Repo) resolveLocked(v string) (plumbing.Hash, bool, error) {
	if len(v) == 40 && isHex(v) {
		h := plumbing.NewHash(v)
		_, err := r.peel(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return h, false, fmt.Errorf("no commit %s: %w", v, ErrUnknownVersion)
		}
		return h, err == nil, err
	}
	for _, name := range refCandidates(v) {
		ref, err := r.repo.Reference(name, true)
		if err != nil {
			continue
		}
		h, err := r.peel(ref.Hash())
		if err != nil {
			return h, false, fmt.Errorf("ref %s: %w", name, err)
		}
		return h, false, nil
	}
	if m := describeRE.FindStringSubmatch(v); m != nil {
		h, err := r.prefix(m[1])
		return h, err == nil, err
	}
	if m := pseudoRE.FindStringSubmatch(v); m != nil {
		h, err := r.prefix(m[1])
		return h, err == nil, err
	}
	if len(v) >= 4 && len(v) < 40 && isHex(v) {
		h, err := r.prefix(strings.ToLower(v))
		return h, err == nil, err
	}
	if h, ok := r.embeddedSHA(v); ok {
		return h, true, nil
	}
	return plumbing.ZeroHash, false, ErrUnknownVersion
}

// embeddedSHA finds the commit a version label embeds as a short sha: a
// run of 7 to 40 hex digits between separators (or at an end), the last
// such run first. A run of digits only is a build number or a timestamp,
// not a sha; a run that names no commit, or several, is passed over.
func (r *Repo) embeddedSHA(v string) (plumbing.Hash, bool) {
	var runs []string
	for rest := v; rest != ""; {
		loc := embeddedSHARE.FindStringSubmatchIndex(rest)
		if loc == nil {
			break
		}
		runs = append(runs, rest[loc[2]:loc[3]])
		rest = rest[loc[3]:] // the separator after a run may open the next
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if !strings.ContainsAny(runs[i], "abcdef") {
			continue
		}
		if h, err := r.prefix(runs[i]); err == nil {
			return h, true
		}
	}
	return plumbing.ZeroHash, false
}

// refCandidates lists the refs a version may name, most specific first.
func refCandidates(v string) []plumbing.ReferenceName {
	if strings.HasPrefix(v, "refs/") {
		return []plumbing.ReferenceName{plumbing.ReferenceName(v)}
	}
	names := []plumbing.ReferenceName{
		plumbing.NewTagReferenceName(v),
		plumbing.NewBranchReferenceName(v),
		plumbing.NewRemoteReferenceName("origin", v),
	}
	if rest, ok := strings.CutPrefix(v, "v"); ok && rest != "" {
		names = append(names, plumbing.NewTagReferenceName(rest))
	} else {
		names = append(names, plumbing.NewTagReferenceName("v"+v))
	}
	return names
}

// peel follows annotated tags down to the commit they name.
func (r *Repo) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 16 { // tags of tags, bounded against a cycle in a broken repo
		obj, err := r.repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return h, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o.Hash, nil
		case *object.Tag:
			h = o.Target
		default:
			return h, fmt.Errorf("%s is a %s, not a commit: %w", h, obj.Type(), ErrUnknownVersion)
		}
	}
	return h, fmt.Errorf("%s: too many nested tags: %w", h, ErrUnknownVersion)
}

// hashPrefixer is the part of go-git's filesystem storage that lists object
// ids by prefix without reading the objects.
type hashPrefixer interface {
	HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
}

// prefix resolves a lower-case hex prefix to the one commit it names.
func (r *Repo) prefix(p string) (plumbing.Hash, error) {
	hp, ok := r.repo.Storer.(hashPrefixer)
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("sha prefix %s: storage cannot search prefixes: %w", p, ErrUnknownVersion)
	}
	even, err := hex.DecodeString(p[:len(p)&^1])
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("sha prefix %s: %w", p, ErrUnknownVersion)
	}
	hashes, err := hp.HashesWithPrefix(even)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("sha prefix %s: %w", p, err)
	}
	var found []plumbing.Hash
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), p) {
			continue
		}
		if c, err := r.peel(h); err == nil && c == h {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, fmt.Errorf("no commit starts with %s: %w", p, ErrUnknownVersion)
	case 1:
		return found[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("%s names %d commits (%s, %s, ...): %w", p, len(found), found[0], found[1], ErrAmbiguous)
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}
