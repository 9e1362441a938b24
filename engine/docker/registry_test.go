package docker

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func TestPushPull(t *testing.T) {
	t.Parallel()
	c, out := newTestClient(t)
	host := startRegistry(t, "ci", "hunter2")
	auth := engine.Auth{Server: host, Username: "ci", Password: "hunter2"}
	repo := host + "/team/app"
	ref := repo + ":" + random(t)
	t.Cleanup(func() { removeImage(t, c, ref) })

	dir := contextDir(t, map[string]string{"Dockerfile": busyboxBase + run("echo "+random(t)+" > /id")})
	id, err := c.Build(testContext(t), engine.BuildSpec{ContextDir: dir, Dockerfile: filepath.Join(dir, "Dockerfile")})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if err := c.Tag(testContext(t), id.ID, ref); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Push(testContext(t), ref, engine.Auth{Server: host, Username: "ci", Password: "wrong"}); err == nil {
		t.Fatal("a push with a wrong password succeeded")
	} else {
		t.Logf("push with a wrong password: %v", err)
	}
	digest, err := c.Push(testContext(t), ref, auth)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if !digestRE.MatchString(digest) {
		t.Fatalf("push returned %q, want a sha256 digest", digest)
	}
	if !strings.Contains(out.String(), ": Pushed\n") {
		t.Errorf("no plain push progress:\n%s", out)
	}

	removeImage(t, c, id.ID)
	if _, err := c.Inspect(testContext(t), ref); err == nil {
		t.Fatal("the image is still there after removal")
	}
	if err := c.Pull(testContext(t), repo+":no-such-tag", auth); err == nil {
		t.Error("pulling a missing tag succeeded")
	}
	if err := c.Pull(testContext(t), ref, auth); err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	img, err := c.Inspect(testContext(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id.ID || !slices.Contains(img.RepoDigests, repo+"@"+digest) {
		t.Errorf("pulled image %s with digests %v, want %s with %s@%s", img.ID, img.RepoDigests, id.ID, repo, digest)
	}
	if !strings.Contains(out.String(), ": Pulling from team/app\n") {
		t.Errorf("no plain pull progress:\n%s", out)
	}
}

// TestCacheFrom is not parallel: it empties the daemon's build cache.
func TestCacheFrom(t *testing.T) {
	c, out := newTestClient(t)
	host := startRegistry(t, "ci", "s3cret")
	auth := engine.Auth{Server: "https://" + host, Username: "ci", Password: "s3cret"}
	ref := host + "/team/cached:latest"
	t.Cleanup(func() { removeImage(t, c, ref) })

	// A unique file keeps other builds' cache out of the way; /stamp is
	// random, so an unchanged /stamp proves that the RUN step was reused.
	dir := contextDir(t, map[string]string{"unique": random(t), "Dockerfile": busyboxBase + "COPY unique /unique\n" +
		run("/bin/busybox head -c 16 /dev/urandom | /bin/busybox od -An -tx1 > /stamp")})
	spec := engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs:  []string{"BUILDKIT_INLINE_CACHE=1"},
		Tags:       []string{ref},
		Auth:       auth,
	}
	first, err := c.Build(testContext(t), spec)
	if err != nil {
		t.Fatalf("first build: %v\n%s", err, out)
	}
	_, files := savedImage(t, c, ref)
	stamp := files["/stamp"]
	if _, err := c.Push(testContext(t), ref, auth); err != nil {
		t.Fatalf("push: %v", err)
	}

	removeImage(t, c, first.ID)
	if _, err := c.api.BuildCachePrune(context.Background(), build.CachePruneOptions{All: true}); err != nil {
		t.Fatalf("pruning the build cache: %v", err)
	}
	progressBefore := len(out.String())
	spec.CacheFrom = []string{ref}
	if _, err := c.Build(testContext(t), spec); err != nil {
		t.Fatalf("second build: %v\n%s", err, out)
	}
	progress := out.String()[progressBefore:]
	t.Logf("second build:\n%s", progress)
	if !strings.Contains(progress, "CACHED") {
		t.Errorf("no step was CACHED from %s:\n%s", ref, progress)
	}
	if _, files := savedImage(t, c, ref); files["/stamp"] != stamp {
		t.Errorf("/stamp changed (%q, was %q): the RUN step ran again instead of coming from the cache\n%s", files["/stamp"], stamp, progress)
	}
}
