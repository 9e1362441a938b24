package oci

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// Tag moves a tag in the registry with the manifest alone, and with the
// registry's credential.
func TestTag(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: "ci", Password: "pw"})
	auth := engine.Auth{Server: reg.Host, Username: "ci", Password: "pw"}
	old := ecrtest.PushImage(t, reg.Host, "cache", "latest", "ci", "pw", "old")
	want := ecrtest.PushImage(t, reg.Host, "cache", "abc", "ci", "pw", "new")
	if old == want {
		t.Fatal("the two images have one digest")
	}
	reg.Reset()
	c, _ := client(t)
	ctx := context.Background()

	if err := c.Tag(ctx, reg.Host+"/cache", "abc", "latest", auth); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Lookup(ctx, reg.Host+"/cache", "latest", auth); err != nil || got != want {
		t.Errorf("latest = %s, %v; want %s", got, err, want)
	}
	for _, r := range reg.Requests() {
		if strings.Contains(r, "/blobs/") {
			t.Errorf("tagging touched a blob: %s", r)
		}
	}

	err := c.Tag(ctx, reg.Host+"/cache", "missing", "latest", auth)
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Tag(missing) = %v, want ErrNotFound", err)
	}
	if err := c.Tag(ctx, reg.Host+"/cache", "abc", "other", engine.Auth{}); err == nil {
		t.Error("Tag without the credential worked")
	}
}
