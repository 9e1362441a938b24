package main

import (
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// markerWork is a build context whose Dockerfile copies busybox in and
// writes marker to /marker.
func markerWork(t *testing.T, marker string) string {
	t.Helper()
	work := t.TempDir()
	testenv.Busybox(t, work)
	googleWriteFile(t, work, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo "+marker+" > /marker\"]\n")
	return work
}

// checkMissPushed checks that miss built image and that the registry's
// requests (reqs, once miss is done) put its key tag and latest under
// manifests (/v2/REPO/manifests/). It removes both from the daemon at the
// end and returns the key tag.
func checkMissPushed(t *testing.T, dockerHost, image, manifests string, miss testenv.Result, reqs func() []string) string {
	t.Helper()
	t.Cleanup(func() { googleRemoveImages(dockerHost, image+":latest") })
	if miss.Code != 0 || miss.Outputs["CACHE_HIT"] != "false" || miss.Outputs["IMAGE"] != image {
		t.Fatalf("miss: exit %d, outputs %q\n%s", miss.Code, miss.Outputs, miss.Stderr)
	}
	tag := miss.Outputs["TAG"]
	t.Cleanup(func() { googleRemoveImages(dockerHost, image+":"+tag) })
	seen := strings.Join(reqs(), "\n")
	for _, want := range []string{"PUT " + manifests + tag + " 201", "PUT " + manifests + "latest 201"} {
		if !strings.Contains(seen, want) {
			t.Errorf("the registry saw no %q:\n%s", want, seen)
		}
	}
	return tag
}

// checkHitSame checks that hit found the image miss pushed.
func checkHitSame(t *testing.T, miss, hit testenv.Result) {
	t.Helper()
	if hit.Code != 0 || hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["DIGEST"] != miss.Outputs["DIGEST"] {
		t.Fatalf("hit: exit %d, outputs %q\n%s", hit.Code, hit.Outputs, hit.Stderr)
	}
}
