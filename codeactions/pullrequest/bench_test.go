package pullrequest

import (
	"context"
	"fmt"
	"testing"

	"github.com/faultline-dev/faultline/incident"
)

// BenchmarkOpen times a whole Open (GitHub checks, apply, commit, push
// over file://, create) and, separately, the answer for an incident whose
// pull request already exists: what the user waits for after choosing
// Open PR.
func BenchmarkOpen(b *testing.B) {
	sc := loadScenario(b)
	ws := newWorkspace(b, sc.repo)
	bare := newBare(b, b.TempDir(), "acme/shop.git", ws)
	gitRun(b, ws, "remote", "add", "origin", "file://"+bare)
	gh := newFakeGitHub(b, testToken, "acme", "shop", remoteBranch(b, bare))
	c, err := New(Options{BaseURL: gh.URL, Token: testToken, Owner: "acme", Repo: "shop"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			inc := sc.inc
			inc.ID = fmt.Sprintf("bench-%d-%d", b.N, i)
			if _, err := c.Open(ctx, Request{Root: ws, Incident: inc, Fix: incident.Fix{Diff: sc.fix}}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("existing", func(b *testing.B) {
		req := Request{Root: ws, Incident: sc.inc, Fix: incident.Fix{Diff: sc.fix}}
		if _, err := c.Open(ctx, req, nil); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if res, err := c.Open(ctx, req, nil); err != nil || !res.Existing {
				b.Fatal(res, err)
			}
		}
	})
}
