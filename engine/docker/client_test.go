package docker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

func TestNewUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c, err := New(context.Background(), nil)
	if err != nil {
		t.Fatalf("New connects already: %v", err)
	}
	_, err = c.Inspect(context.Background(), "any")
	if err == nil {
		t.Fatal("Inspect succeeded without a daemon")
	}
	for _, want := range []string{"unix:///nonexistent/docker.sock", "DOCKER_HOST", "start dockerd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestInspectMissing(t *testing.T) {
	t.Parallel()
	c, _ := newTestClient(t)
	_, err := c.Inspect(testContext(t), "docker-ecr-cache-test/missing:"+random(t))
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("err = %v, want engine.ErrNotFound", err)
	}
}
