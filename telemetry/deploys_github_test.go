package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/faultline-dev/faultline/incident"
)

// fakeGitHub serves the two Deployments API endpoints go-github calls, from
// testdata/deploys_github (GitHub's documented response shapes), with the
// Link header GitHub uses for paging.
func fakeGitHub(t *testing.T) (*github.Client, *[]string) {
	t.Helper()
	var queries []string
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, name string) {
		data, err := os.ReadFile(filepath.Join("testdata", "deploys_github", name))
		if err != nil {
			http.Error(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(data)
	}
	var srv *httptest.Server
	mux.HandleFunc("GET /repos/acme/shop/deployments", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		if r.URL.Query().Get("page") == "2" {
			serve(w, "deployments_page2.json")
			return
		}
		next := url.Values{"environment": {r.URL.Query().Get("environment")}, "per_page": {"100"}, "page": {"2"}}
		w.Header().Set("Link", fmt.Sprintf(`<%s/repos/acme/shop/deployments?%s>; rel="next", <%s/repos/acme/shop/deployments?%s>; rel="last"`, srv.URL, next.Encode(), srv.URL, next.Encode()))
		serve(w, "deployments_page1.json")
	})
	mux.HandleFunc("GET /repos/acme/shop/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request) {
		serve(w, "statuses_"+r.PathValue("id")+".json")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`, http.StatusNotFound)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := github.NewClient(nil)
	base, _ := url.Parse(srv.URL + "/")
	c.BaseURL = base
	return c, &queries
}

func TestGitHubDeploys(t *testing.T) {
	client, queries := fakeGitHub(t)
	got, err := GitHubDeploys(context.Background(), client, "acme", "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	want := []incident.Deploy{
		// 1003 failed and is not a deploy; 1000 never left pending.
		{Time: time.Date(2026, 11, 20, 10, 34, 10, 0, time.UTC), Service: "shop", Env: "production", Version: "v1.4.0", Commit: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"},
		// Superseded (inactive) after its success: still a deploy, at its
		// success time, for the service its payload names.
		{Time: time.Date(2026, 11, 19, 9, 5, 0, 0, time.UTC), Service: "checkout-worker", Env: "production", Version: "v1.3.0", Commit: "0123456789abcdef0123456789abcdef01234567"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deploys\n got %+v\nwant %+v", got, want)
	}
	if len(*queries) != 2 || !strings.Contains((*queries)[0], "environment=production") {
		t.Errorf("deployment list queries %q: want two pages filtered by environment", *queries)
	}
}

func TestGitHubDeploysErrors(t *testing.T) {
	client, _ := fakeGitHub(t)
	_, err := GitHubDeploys(context.Background(), client, "acme", "nope", "")
	if err == nil || !strings.Contains(err.Error(), "list deployments of acme/nope") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("GitHubDeploys on a missing repo: err = %v, want a 404 naming the repo", err)
	}
}

func TestVersionFirstSeen(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 11, 20, 10, min, 0, 0, time.UTC) }
	ev := func(min int, service, env, version string) incident.Event {
		return incident.Event{Time: at(min), Labels: map[string]string{"service": service, "env": env, "version": version}}
	}
	sha := "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	tests := []struct {
		name   string
		events []incident.Event
		want   []incident.Deploy
	}{
		{"one version: nothing was deployed in the window",
			[]incident.Event{ev(1, "checkout", "prod", "v1"), ev(5, "checkout", "prod", "v1")}, nil},
		{"a new version is a deploy at its first entry",
			[]incident.Event{ev(1, "checkout", "prod", "v1"), ev(7, "checkout", "prod", "v2"), ev(9, "checkout", "prod", "v2")},
			[]incident.Deploy{{Time: at(7), Service: "checkout", Env: "prod", Version: "v2"}}},
		{"order of arrival does not matter",
			[]incident.Event{ev(9, "checkout", "prod", "v2"), ev(1, "checkout", "prod", "v1"), ev(7, "checkout", "prod", "v2")},
			[]incident.Deploy{{Time: at(7), Service: "checkout", Env: "prod", Version: "v2"}}},
		{"per service and env",
			[]incident.Event{ev(1, "checkout", "prod", "v1"), ev(2, "checkout", "staging", "v2"), ev(3, "cart", "prod", "v7"),
				ev(4, "checkout", "staging", "v3"), ev(6, "checkout", "prod", "v2")},
			[]incident.Deploy{{Time: at(4), Service: "checkout", Env: "staging", Version: "v3"}, {Time: at(6), Service: "checkout", Env: "prod", Version: "v2"}}},
		{"rollback to a version seen before is not a new deploy",
			[]incident.Event{ev(1, "checkout", "prod", "v1"), ev(3, "checkout", "prod", "v2"), ev(5, "checkout", "prod", "v1")},
			[]incident.Deploy{{Time: at(3), Service: "checkout", Env: "prod", Version: "v2"}}},
		{"a sha version is the commit",
			[]incident.Event{ev(1, "checkout", "prod", "v1"), ev(3, "checkout", "prod", sha)},
			[]incident.Deploy{{Time: at(3), Service: "checkout", Env: "prod", Version: sha, Commit: sha}}},
		{"events without service or version are ignored",
			[]incident.Event{ev(1, "", "prod", "v1"), ev(2, "checkout", "prod", ""), ev(3, "checkout", "prod", "v1")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VersionFirstSeen(tt.events)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("VersionFirstSeen\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
