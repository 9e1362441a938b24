package prune_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ghcrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

const (
	goodToken = "ghp_good"
	readToken = "ghp_readonly"
)

func startGHCR(t *testing.T, org bool) *ghcrtest.Server {
	return ghcrtest.Start(t, ghcrtest.Options{Owner: "octo", Org: org, Tokens: map[string][]string{
		goodToken: {"read:packages", "write:packages", "delete:packages"},
		readToken: {"read:packages"},
	}})
}

func ghcrBackend(s *ghcrtest.Server, token string) *prune.GHCR {
	return &prune.GHCR{
		Registry: &prune.Registry{Repo: s.RegistryHost + "/octo/build-cache/app", Client: &oci.Client{}},
		API:      s.URL,
		Token:    token,
		PerPage:  4, // several pages
	}
}

// buildcache is a BuildKit cache manifest, as cache-to pushes it.
func buildcache(t *testing.T, content string) v1.Image {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.buildkit.cacheconfig.v0")
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer([]byte(content), types.OCILayer)})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ghcrRepo is where the tests push: the package build-cache/app of octo.
func ghcrRepo(s *ghcrtest.Server) string { return s.RegistryHost + "/octo/build-cache/app" }

// seedGHCR pushes 12 keys a day apart, latest on key 11, a buildcache
// pushed twice, a key pushed twice, a user's untagged image and a young
// two-platform key whose platform images are untagged versions. It
// returns what a prune with max-age 7 days and keep-last 3 deletes: tags,
// and "untagged:<digest>".
func seedGHCR(t *testing.T, s *ghcrtest.Server) []string {
	repo := ghcrRepo(s)
	now := time.Now()
	var want []string
	for n := range 12 {
		d := push(t, repo, keyTag(n), cacheImage(t, keyTag(n), now.Add(-time.Duration(n)*day)))
		s.SetPushed(d, now.Add(-time.Duration(n)*day-2*time.Hour))
		if n >= 7 && n != 11 {
			want = append(want, keyTag(n))
		}
	}
	copyTag(t, repo, keyTag(11), "latest")

	old := push(t, repo, "buildcache", buildcache(t, "first"))
	push(t, repo, "buildcache", buildcache(t, "second"))
	s.SetPushed(old, now.Add(-3*time.Hour))
	want = append(want, "untagged:"+old)

	first := push(t, repo, keyTag(20), cacheImage(t, keyTag(20), now.Add(-3*time.Hour)))
	second := push(t, repo, keyTag(20), cacheImage(t, keyTag(20), now.Add(-2*time.Hour)))
	s.SetPushed(first, now.Add(-3*time.Hour))
	s.SetPushed(second, now.Add(-2*time.Hour))
	want = append(want, "untagged:"+first)

	user := push(t, repo, "scratch", testenv.LabelledImage(t, map[string]string{"maintainer": "someone"}))
	push(t, repo, "scratch", testenv.LabelledImage(t, map[string]string{"maintainer": "someone else"}))
	s.SetPushed(user, now.Add(-40*day))

	// A two-platform key: its index is tagged, its images untagged.
	amd := cacheImage(t, keyTag(30), now.Add(-2*time.Hour))
	arm := cacheImage(t, keyTag(30), now.Add(-2*time.Hour))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(mustRef(t, repo+":"+keyTag(30)), idx); err != nil {
		t.Fatal(err)
	}
	for _, img := range []v1.Image{amd, arm} {
		d, _ := img.Digest()
		s.SetPushed(d.String(), now.Add(-2*time.Hour))
	}
	sort.Strings(want)
	return want
}

func deletedNames(res prune.Result) []string {
	var out []string
	for _, d := range res.Deleted {
		if d.Tag == "" {
			out = append(out, "untagged:"+d.Digest)
		} else {
			out = append(out, d.Tag)
		}
	}
	sort.Strings(out)
	return out
}

func TestPruneGHCR(t *testing.T) {
	t.Parallel()
	for _, org := range []bool{false, true} {
		t.Run(map[bool]string{false: "user", true: "org"}[org], func(t *testing.T) {
			t.Parallel()
			s := startGHCR(t, org)
			want := seedGHCR(t, s)
			before := len(s.Versions("build-cache/app"))
			policy := prune.Policy{MaxAge: 7 * day, KeepLast: 3}

			dry, err := prune.Run(context.Background(), ghcrBackend(s, goodToken), policy, prune.Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Versions("build-cache/app")); n != before {
				t.Fatalf("--dry-run deleted %d versions", before-n)
			}
			res, err := prune.Run(context.Background(), ghcrBackend(s, goodToken), prune.Policy{MaxAge: 7 * day, KeepLast: 3, Now: dry.Now}, prune.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if planText(dry) != planText(res) {
				t.Errorf("the dry run's plan differs:\n%s---\n%s", planText(dry), planText(res))
			}
			t.Logf("plan:\n%s", planText(res))
			if got := deletedNames(res); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if n := len(s.Versions("build-cache/app")); n != before-len(want) {
				t.Errorf("%d versions left, want %d", n, before-len(want))
			}
			var pages int
			for _, r := range s.Requests() {
				if strings.HasPrefix(r, "GET /") && strings.Contains(r, "/versions?") {
					pages++
				}
			}
			if pages < 2*((before+3)/4) { // two listings, 4 a page
				t.Errorf("%d pages read over two listings of %d versions, 4 a page: the Link header was not followed", pages, before)
			}
			// The kept images are whole: the two-platform key pulls.
			if _, err := remote.Index(mustRef(t, ghcrRepo(s)+":"+keyTag(30))); err != nil {
				t.Errorf("the kept two-platform key: %v", err)
			}
			again, err := prune.Run(context.Background(), ghcrBackend(s, goodToken), policy, prune.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Deleted) != 0 {
				t.Errorf("a second prune deleted %v", deletedNames(again))
			}
		})
	}
}

// TestPruneGHCRNoDeleteScope: a token without delete:packages gets a
// clear error, and nothing is deleted.
func TestPruneGHCRNoDeleteScope(t *testing.T) {
	t.Parallel()
	s := startGHCR(t, false)
	seedGHCR(t, s)
	before := len(s.Versions("build-cache/app"))
	_, err := prune.Run(context.Background(), ghcrBackend(s, readToken), prune.Policy{MaxAge: 7 * day, KeepLast: 3}, prune.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"HTTP 403", "delete:packages", "packages: write", "the token has: read:packages", "nothing was deleted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if n := len(s.Versions("build-cache/app")); n != before {
		t.Errorf("%d versions deleted", before-n)
	}
}

// TestPruneGHCRSecondaryLimit: a secondary rate limit with retry-after is
// waited out, and the prune completes.
func TestPruneGHCRSecondaryLimit(t *testing.T) {
	t.Parallel()
	s := startGHCR(t, false)
	want := seedGHCR(t, s)
	s.SecondaryLimit(2)
	b := ghcrBackend(s, goodToken)
	var waits []string
	b.Log = func(format string, args ...any) { waits = append(waits, format) }
	start := time.Now()
	res, err := prune.Run(context.Background(), b, prune.Policy{MaxAge: 7 * day, KeepLast: 3}, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(waits) != 2 || time.Since(start) < 2*time.Second {
		t.Errorf("waited %d times in %s, want 2 waits of retry-after: 1", len(waits), time.Since(start))
	}
	if got := deletedNames(res); len(got) != len(want) {
		t.Errorf("deleted %d, want %d", len(got), len(want))
	}
	// A limit that outlasts MaxWait is an error, not a long wait.
	s.SecondaryLimit(10)
	b = ghcrBackend(s, goodToken)
	b.MaxWait = 500 * time.Millisecond
	if _, err := prune.Run(context.Background(), b, prune.Policy{MaxAge: 7 * day}, prune.Options{}); err == nil || !strings.Contains(err.Error(), "rate limited") {
		t.Errorf("err = %v, want a rate limit error", err)
	}
}
