package prune_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

const day = 24 * time.Hour

// keyTag is the nth made-up key.
func keyTag(n int) string { return fmt.Sprintf("%040x", 0xca0000+n) }

// cacheImage is the image the cache would have pushed for key, built at
// started.
func cacheImage(t testing.TB, key string, started time.Time) v1.Image {
	return testenv.LabelledImage(t, map[string]string{
		engine.LabelKey:          key,
		engine.LabelBuildStarted: fmt.Sprintf("%d.%09d", started.Unix(), started.Nanosecond()),
	})
}

func push(t testing.TB, repo, tag string, img v1.Image) string {
	return testenv.PushImage(t, repo+":"+tag, img)
}

// tags lists what the registry holds: tag -> digest.
func tags(t testing.TB, repo string) map[string]string {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	list, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tag := range list {
		desc, err := remote.Head(r.Tag(tag))
		if err != nil {
			t.Fatal(err)
		}
		out[tag] = desc.Digest.String()
	}
	return out
}

func backend(repo string) *prune.Registry {
	return &prune.Registry{Repo: repo, Client: &oci.Client{}, Retention: prune.Retention(strings.Split(repo, "/")[0])}
}

func planText(res prune.Result) string {
	var b strings.Builder
	prune.WritePlan(&b, res)
	return b.String()
}

// TestPruneRegistry is the proof on a real distribution registry
// with deletes on: 30 keys built a day apart, max-age-days 7, keep-last 10.
func TestPruneRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})
	repo := reg.Host + "/build-cache/app"
	now := time.Now()
	digests := map[string]string{}
	for n := range 30 {
		tag := keyTag(n)
		digests[tag] = push(t, repo, tag, cacheImage(t, tag, now.Add(-time.Duration(n)*day-2*time.Hour)))
	}
	// latest names key 25's image, stable (a user's tag) key 20's, and a
	// key-looking tag key 15's: its label is not its tag, so it is not a
	// key image of the cache and is kept.
	copyTag(t, repo, keyTag(25), "latest")
	copyTag(t, repo, keyTag(20), "stable")
	copyTag(t, repo, keyTag(15), keyTag(99))
	old := now.Add(-60 * day)
	push(t, repo, "user-image", testenv.LabelledImage(t, map[string]string{"maintainer": "someone"}))
	push(t, repo, keyTag(98), testenv.LabelledImage(t, map[string]string{engine.LabelBuildStarted: fmt.Sprint(old.Unix())})) // no key label
	before := tags(t, repo)

	policy := prune.Policy{MaxAge: 7 * day, KeepLast: 10}
	dry, err := prune.Run(context.Background(), backend(repo), policy, prune.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := tags(t, repo); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("--dry-run changed the registry:\nbefore %v\nafter  %v", before, got)
	}
	var deletedNow []string
	res, err := prune.Run(context.Background(), backend(repo), prune.Policy{MaxAge: 7 * day, KeepLast: 10, Now: dry.Now},
		prune.Options{Deleted: func(d prune.Decision) { deletedNow = append(deletedNow, d.Tag) }})
	if err != nil {
		t.Fatal(err)
	}
	if planText(dry) != planText(res) {
		t.Errorf("the dry run's plan differs from the real one's:\n%s\n---\n%s", planText(dry), planText(res))
	}
	t.Logf("plan:\n%s", planText(res))

	var want []string
	for n := range 30 {
		if n >= 10 && n != 25 && n != 20 && n != 15 {
			want = append(want, keyTag(n))
		}
	}
	sort.Strings(want)
	sort.Strings(deletedNow)
	if fmt.Sprint(deletedNow) != fmt.Sprint(want) {
		t.Errorf("deleted %v\nwant    %v", deletedNow, want)
	}
	after := tags(t, repo)
	for tag, digest := range before {
		_, kept := after[tag]
		switch {
		case !kept && !contains(want, tag):
			t.Errorf("%s was deleted, but it should have stayed", tag)
		case kept && contains(want, tag):
			t.Errorf("%s is still there", tag)
		case kept && after[tag] != digest:
			t.Errorf("%s moved from %s to %s", tag, digest, after[tag])
		}
	}
	for _, tag := range []string{"latest", "stable", "user-image", keyTag(98), keyTag(99), keyTag(25), keyTag(20), keyTag(15), keyTag(0), keyTag(9)} {
		if _, ok := after[tag]; !ok {
			t.Errorf("%s was deleted", tag)
		}
	}
	// The images still pull whole: the config blob is still there.
	for _, tag := range []string{"latest", keyTag(9)} {
		img, err := remote.Image(mustRef(t, repo+":"+tag))
		if err == nil {
			_, err = img.ConfigFile()
		}
		if err != nil {
			t.Errorf("%s after the prune: %v", tag, err)
		}
	}

	// The second prune reads one manifest per key it keeps: the first
	// left the kept images' labels in its index.
	reg.Reset()
	again, err := prune.Run(context.Background(), backend(repo), policy, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Deleted) != 0 {
		t.Errorf("a second prune deleted %d images", len(again.Deleted))
	}
	var manifests, blobs int
	for _, r := range reg.Requests() {
		switch {
		case strings.HasPrefix(r, "GET ") && strings.Contains(r, "/manifests/"):
			manifests++
		case strings.HasPrefix(r, "GET ") && strings.Contains(r, "/blobs/"):
			blobs++
		}
	}
	keys := 0
	for _, d := range again.Plan {
		if prune.IsKeyTag(d.Tag) {
			keys++
		}
	}
	// Blobs: the index's, and the config of key 98's tag, which has no key
	// label and so is not in the index.
	if manifests != keys+1 || blobs != 2 {
		t.Errorf("the second prune read %d manifests and %d blobs for %d key tags, want one manifest each, the index (a manifest and a blob) and one config:\n%s",
			manifests, blobs, keys, strings.Join(reg.Requests(), "\n"))
	}
}

// TestPruneIndexNeverDeletes: an index that says a young key is old (a
// forged one) does not get it deleted: the config of every image to
// delete is read first.
func TestPruneIndexNeverDeletes(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Delete: true})
	repo := reg.Host + "/build-cache/app"
	now := time.Now()
	push(t, repo, keyTag(1), cacheImage(t, keyTag(1), now.Add(-2*day)))
	push(t, repo, keyTag(2), cacheImage(t, keyTag(2), now.Add(-20*day)))
	policy := prune.Policy{MaxAge: 7 * day}
	if _, err := prune.Run(context.Background(), backend(repo), prune.Policy{MaxAge: 30 * day}, prune.Options{}); err != nil {
		t.Fatal(err)
	}
	// Forge the index: every key 60 days old.
	ref := mustRef(t, repo+":"+prune.IndexTag)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("no index after a prune: %v", err)
	}
	img, _ := desc.Image()
	layers, _ := img.Layers()
	rc, _ := layers[0].Compressed()
	var idx map[string]map[string]string
	if err := json.NewDecoder(rc).Decode(&idx); err != nil || len(idx) != 2 {
		t.Fatalf("index %v: %v", idx, err)
	}
	rc.Close()
	for _, e := range idx {
		e["started"] = fmt.Sprint(now.Add(-60 * day).Unix())
	}
	data, _ := json.Marshal(idx)
	forged, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer(data, "application/vnd.docker-ecr-cache.prune-index.v1+json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, forged); err != nil {
		t.Fatal(err)
	}
	res, err := prune.Run(context.Background(), backend(repo), policy, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0].Tag != keyTag(2) {
		t.Errorf("deleted %v, want only the 20-day-old key:\n%s", res.Deleted, planText(res))
	}
}

// TestPruneRefused: a registry that does not allow deletes (405
// UNSUPPORTED) gets one error naming the retention feature to use, and
// nothing is deleted.
func TestPruneRefused(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Host + "/build-cache/app"
	now := time.Now()
	for n := range 5 {
		push(t, repo, keyTag(n), cacheImage(t, keyTag(n), now.Add(-time.Duration(n+10)*day)))
	}
	before := tags(t, repo)
	reg.Reset()
	res, err := prune.Run(context.Background(), backend(repo), prune.Policy{MaxAge: 7 * day, KeepLast: 1}, prune.Options{})
	if !errors.Is(err, prune.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	for _, want := range []string{"405", "UNSUPPORTED", "storage.delete.enabled", "Harbor"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if len(res.Deleted) != 0 {
		t.Errorf("deleted %d", len(res.Deleted))
	}
	var deletes int
	for _, r := range reg.Requests() {
		if strings.HasPrefix(r, "DELETE ") {
			deletes++
		}
	}
	if deletes != 1 {
		t.Errorf("%d DELETE requests, want the one that was refused", deletes)
	}
	if got := tags(t, repo); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("the registry changed")
	}
}

func copyTag(t testing.TB, repo, from, to string) {
	t.Helper()
	desc, err := remote.Get(mustRef(t, repo+":"+from))
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, repo+":"+to), img); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
