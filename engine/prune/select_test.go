package prune_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/prune"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
)

// TestFor: each registry gets its way of pruning, and the log names the
// registry's own cleanup where it has a better one.
func TestFor(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credential from this machine's Docker config
	tests := []struct {
		provider, registry string
		env                map[string]string
		backend            string // "", "registry" or "ghcr"
		note, err          string
	}{
		{provider: "ecr", note: "lifecycle policy"},
		{provider: "local", note: "nothing to do"},
		{provider: "registry", registry: "registry.example.com/cache/app", backend: "registry"},
		{provider: "registry", registry: "europe-docker.pkg.dev/proj/repo/app", backend: "registry", note: "cleanup policies"},
		{provider: "registry", registry: "registry.gitlab.com/group/project/cache", backend: "registry", note: "GitLab's cleanup policy"},
		{provider: "registry", registry: "registry.example.org/group/project/cache", env: map[string]string{"CI_REGISTRY": "registry.example.org"}, backend: "registry", note: "GitLab's cleanup policy"},
		{provider: "registry", registry: "ghcr.io/octo/app", env: map[string]string{"GITHUB_TOKEN": "t"}, backend: "ghcr"},
		{provider: "registry", registry: "ghcr.io/octo/app", err: "needs a GitHub token"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+" "+tt.registry+fmt.Sprint(tt.env), func(t *testing.T) {
			c := engine.NewConfig()
			c.RegistryProvider, c.Registry = tt.provider, tt.registry
			c.Getenv = func(k string) string { return tt.env[k] }
			b, note, err := prune.For(context.Background(), &c, func() (engine.Registry, error) { return registry.New(context.Background(), &c, engine.Discard) }, engine.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kind string
			switch b.(type) {
			case *prune.Registry:
				kind = "registry"
			case *prune.GHCR:
				kind = "ghcr"
			}
			if kind != tt.backend || !strings.Contains(note, tt.note) || (tt.note == "" && note != "") {
				t.Errorf("backend %q, note %q; want %q and a note with %q", kind, note, tt.backend, tt.note)
			}
		})
	}
}
