package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

// rebuildWith changes the job's Dockerfile, so that the next run misses.
func (j *ecrJob) rebuildWith(tb testing.TB, marker string) {
	tb.Helper()
	df := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo " + marker + " > /marker\"]\n"
	if err := os.WriteFile(filepath.Join(j.dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// manifestOf reads name:tag's manifest from the registry behind the ECR
// front, with ECR's credential: its digest and bytes.
func manifestOf(tb testing.TB, srv *ecrtest.Server, name, tag string) (digest, mediaType string, body []byte) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.Registry.Host+"/v2/"+name+"/manifests/"+tag, nil)
	req.SetBasicAuth("AWS", srv.Password)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", "", nil
	}
	return resp.Header.Get("Docker-Content-Digest"), resp.Header.Get("Content-Type"), body
}

// An ECR repository with IMMUTABLE tag mutability (the test server refuses
// to move a tag, as ECR does): DescribeRepositories says so, so a miss
// neither pushes latest, which would stay on the first build for good, nor
// warns; the next miss builds on the newest key's image. The key tag is
// never overwritten.
func TestECRImmutableLatestNotPushed(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	srv.AddRepository(srv.AccountID, job.name, nil, "")
	srv.SetImmutable(srv.AccountID, job.name)
	image := srv.RegistryHost + "/" + job.name

	first := job.run(t)
	first.expect(t, srv, 0)
	first.says(t, "repository "+job.name+" has IMMUTABLE tag mutability, under which latest cannot move: latest is not pushed")
	if latest, _, _ := manifestOf(t, srv, job.name, "latest"); latest != "" {
		t.Fatalf("the first miss pushed latest: %s", latest)
	}

	job.rebuildWith(t, "second")
	second := job.run(t)
	second.expect(t, srv, 0)
	second.says(t, "changed since "+image+":"+first.Outputs["TAG"], "using "+image+":"+first.Outputs["TAG"]+" as layer cache")
	if got, _, _ := manifestOf(t, srv, job.name, second.Outputs["TAG"]); got == "" || got != second.Outputs["DIGEST"] {
		t.Errorf("the second key's tag names %q, want %s", got, second.Outputs["DIGEST"])
	}
	for _, r := range []ecrRun{first, second} {
		if strings.Contains(r.Stderr, "was not moved") {
			t.Errorf("a warning about latest:\n%s", r.Stderr)
		}
	}

	// restore: false cannot replace a key's image here: a clear error, and
	// the key tag keeps its image.
	job.options["RESTORE"] = "false"
	again := job.run(t)
	again.expect(t, srv, 1)
	again.says(t, "restore: false", "a key's image cannot be replaced in this repository; change cache-key")
	if got, _, _ := manifestOf(t, srv, job.name, second.Outputs["TAG"]); got != second.Outputs["DIGEST"] {
		t.Errorf("restore: false overwrote the key tag: %s, was %s", got, second.Outputs["DIGEST"])
	}
}

// Where no moving tag is kept (push-latest: false, immutable tags), a miss
// compares with and builds on the newest key's image, found by its
// build-started label; fallback-tag, once it names an image, is read
// instead.
func TestECRImmutableNewestKeyAndFallbackTag(t *testing.T) {
	srv := ecrtest.Start(t, ecrtest.Options{})
	job := newECRJob(t, srv)
	srv.AddRepository(srv.AccountID, job.name, nil, "")
	srv.SetImmutable(srv.AccountID, job.name)
	job.options["PUSH_LATEST"] = "false"
	job.options["FALLBACK_TAG"] = "release"
	image := srv.RegistryHost + "/" + job.name

	one := job.run(t)
	one.expect(t, srv, 0)
	one.says(t, "cache miss: no image for key "+one.Outputs["TAG"])

	job.rebuildWith(t, "two")
	two := job.run(t)
	two.expect(t, srv, 0)
	two.says(t, "changed since "+image+":"+one.Outputs["TAG"], "using "+image+":"+one.Outputs["TAG"]+" as layer cache")

	job.rebuildWith(t, "three")
	three := job.run(t)
	three.expect(t, srv, 0)
	three.says(t, "changed since "+image+":"+two.Outputs["TAG"], "using "+image+":"+two.Outputs["TAG"]+" as layer cache")

	// Someone tags a release: fallback-tag now names it, and is read.
	_, mediaType, body := manifestOf(t, srv, job.name, one.Outputs["TAG"])
	req, _ := http.NewRequest(http.MethodPut, "http://"+srv.Registry.Host+"/v2/"+job.name+"/manifests/release", bytes.NewReader(body))
	req.SetBasicAuth("AWS", srv.Password)
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("tagging release: %v %v", err, resp)
	}
	resp.Body.Close()
	job.rebuildWith(t, "four")
	four := job.run(t)
	four.expect(t, srv, 0)
	four.says(t, "changed since "+image+":release", "using "+image+":release as layer cache")
	for _, r := range []ecrRun{one, two, three, four} {
		if strings.Contains(r.Stderr, "latest was not moved") {
			t.Errorf("push-latest: false moved latest:\n%s", r.Stderr)
		}
	}
}
