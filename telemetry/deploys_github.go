package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/faultline-dev/faultline/incident"
	"github.com/faultline-dev/faultline/internal/labelmemo"
)

// maxGitHubDeployments bounds how far back GitHubDeploys reads: the
// deploys that matter precede open incidents, and each deployment costs a
// statuses request.
const maxGitHubDeployments = 200

// GitHubDeploys lists the deploys of owner/repo recorded through GitHub's
// Deployments API, newest first, optionally only those of environment env.
//
// A deployment counts as a deploy once it has reached "success": its
// latest status is success, or it was later marked inactive (GitHub does
// so when a newer deployment replaces it) after a success. Deployments
// still pending, failed or errored are not deploys. The deploy's time is
// that of its success status, when the version went live, not when the
// deployment was requested.
//
// Service is the "service" field of the deployment's JSON payload when it
// has one (monorepos deploying several services), else the repository
// name; Version is the deployed ref (a tag or branch), Commit its sha.
func GitHubDeploys(ctx context.Context, client *github.Client, owner, repo, env string) ([]incident.Deploy, error) {
	opts := &github.DeploymentsListOptions{Environment: env, ListOptions: github.ListOptions{PerPage: 100}}
	var out []incident.Deploy
	seen := 0
	for seen < maxGitHubDeployments {
		page, resp, err := client.Repositories.ListDeployments(ctx, owner, repo, opts)
		if err != nil {
			return out, fmt.Errorf("list deployments of %s/%s: %w", owner, repo, err)
		}
		for _, d := range page {
			if seen == maxGitHubDeployments {
				break
			}
			seen++
			live, ok, err := wentLive(ctx, client, owner, repo, d.GetID())
			if err != nil {
				return out, err
			}
			if ok {
				out = append(out, githubDeploy(d, repo, live))
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// wentLive returns the time of the success status of a deployment whose
// latest status is success or inactive.
func wentLive(ctx context.Context, client *github.Client, owner, repo string, id int64) (time.Time, bool, error) {
	statuses, _, err := client.Repositories.ListDeploymentStatuses(ctx, owner, repo, id, &github.ListOptions{PerPage: 100})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("list statuses of deployment %d of %s/%s: %w", id, owner, repo, err)
	}
	if len(statuses) == 0 {
		return time.Time{}, false, nil
	}
	// GitHub lists statuses newest first; do not rely on it.
	sort.SliceStable(statuses, func(i, j int) bool {
		return statuses[i].GetCreatedAt().After(statuses[j].GetCreatedAt().Time)
	})
	if latest := statuses[0].GetState(); latest != "success" && latest != "inactive" {
		return time.Time{}, false, nil
	}
	for _, s := range statuses {
		if s.GetState() == "success" {
			return s.GetCreatedAt().Time, true, nil
		}
	}
	return time.Time{}, false, nil
}

func githubDeploy(d *github.Deployment, repo string, live time.Time) incident.Deploy {
	service := repo
	var payload struct {
		Service string `json:"service"`
	}
	if len(d.Payload) > 0 && json.Unmarshal(d.Payload, &payload) == nil && payload.Service != "" {
		service = payload.Service
	}
	dep := incident.Deploy{Time: live.UTC(), Service: service, Env: d.GetEnvironment(), Version: d.GetRef()}
	if fullSHA.MatchString(d.GetSHA()) {
		dep.Commit = strings.ToLower(d.GetSHA())
	}
	if dep.Version == "" {
		dep.Version = dep.Commit
	}
	return dep
}

var fullSHA = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// VersionWatch derives deploys from the logs themselves: a version label
// that appears for a service and env after another one was already seen
// there marks a deploy at its first entry. It takes events in any order
// and holds one time per (service, env, version), so it can watch a
// stream of any length.
//
// The earliest version of each service and env is not a deploy: it was
// running when the window opened. A version that comes back (a rollback
// to a version seen earlier in the window) is not reported again.
type VersionWatch struct {
	first map[versionKey]*time.Time
	// memo maps a label set (by identity, see package labelmemo) to its
	// slot in first, nil when the labels carry no service or version:
	// reading three labels and hashing them for every entry was a tenth of
	// reading a large file.
	memo labelmemo.Memo[*time.Time]
}

type versionKey struct{ service, env, version string }

// Add records one event; events without a service or version are ignored.
func (w *VersionWatch) Add(e incident.Event) { w.AddAt(e.Labels, e.Time) }

// AddAt records an entry of the stream with labels at t.
func (w *VersionWatch) AddAt(labels map[string]string, t time.Time) {
	if t.IsZero() {
		return
	}
	slot, ok := w.memo.Get(labels)
	if !ok {
		slot = w.slot(labels)
		w.memo.Put(labels, slot)
	}
	if slot != nil && (slot.IsZero() || t.Before(*slot)) {
		*slot = t
	}
}

func (w *VersionWatch) slot(labels map[string]string) *time.Time {
	k := versionKey{labels[incident.LabelService], labels[incident.LabelEnv], labels[incident.LabelVersion]}
	if k.service == "" || k.version == "" {
		return nil
	}
	if w.first == nil {
		w.first = map[versionKey]*time.Time{}
	}
	s := w.first[k]
	if s == nil {
		s = new(time.Time)
		w.first[k] = s
	}
	return s
}

// Deploys returns the derived deploys, oldest first.
func (w *VersionWatch) Deploys() []incident.Deploy {
	type seen struct {
		version string
		at      time.Time
	}
	byStream := map[[2]string][]seen{}
	for k, t := range w.first {
		if t.IsZero() {
			continue
		}
		s := [2]string{k.service, k.env}
		byStream[s] = append(byStream[s], seen{k.version, *t})
	}
	var out []incident.Deploy
	for s, vs := range byStream {
		sort.Slice(vs, func(i, j int) bool {
			if !vs[i].at.Equal(vs[j].at) {
				return vs[i].at.Before(vs[j].at)
			}
			return vs[i].version < vs[j].version
		})
		for _, v := range vs[1:] {
			d := incident.Deploy{Time: v.at, Service: s[0], Env: s[1], Version: v.version}
			if fullSHA.MatchString(v.version) {
				d.Commit = strings.ToLower(v.version)
			}
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Service+"\x00"+out[i].Env < out[j].Service+"\x00"+out[j].Env
	})
	return out
}

// VersionFirstSeen is VersionWatch over a slice.
func VersionFirstSeen(events []incident.Event) []incident.Deploy {
	var w VersionWatch
	for _, e := range events {
		w.Add(e)
	}
	return w.Deploys()
}
