package github

import (
	"context"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// With no registry-provider input, the action plans GHCR under the
// repository's lower-cased name, with the github-token input as the
// password and github.actor as the user; the token is masked first and
// never printed.
func TestLoadDefaultsToGHCR(t *testing.T) {
	t.Parallel()
	const token = "ghs_0123456789abcdefTOKEN"
	env := runnerEnv(t, map[string]string{
		"GITHUB_REPOSITORY":  "My-Org/My.Repo",
		"GITHUB_ACTOR":       "Octo-Cat",
		InputVar(TokenInput): token,
	})
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.RegistryProvider != engine.ProviderGHCR || c.Registry != "ghcr.io/my-org/my.repo/build-cache" {
		t.Fatalf("provider %q, registry %q; want ghcr, ghcr.io/my-org/my.repo/build-cache", c.RegistryProvider, c.Registry)
	}
	if _, err := c.Plan(); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var out testenv.Buffer
	log := report.New(&out, &Style{})
	for _, s := range EnvSecrets(func(k string) string { return env[k] }) {
		log.Mask(s)
	}
	reg, err := registry.New(context.Background(), &c, log)
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := reg.Repository(context.Background())
	auth, err := reg.Auth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if repo != "ghcr.io/my-org/my.repo/build-cache" || auth.Username != "Octo-Cat" || auth.Password != token || auth.Server != "ghcr.io" {
		t.Errorf("repository %q, credential %q/%q for %q; want the actor and the token input for ghcr.io", repo, auth.Username, auth.Password, auth.Server)
	}
	log.Infof("credential %s for %s", auth.Password, repo)
	if got := out.String(); !strings.HasPrefix(got, "::add-mask::"+token+"\n") || strings.Count(got, token) != 1 {
		t.Errorf("the token is not masked first, or shows:\n%s", got)
	}

	// A provider given keeps its meaning, and the token stays unused.
	env[InputVar("registry-provider")] = "ecr"
	if c, err := load(env); err != nil || c.RegistryProvider != engine.ProviderECR || c.Registry != "" {
		t.Errorf("registry-provider: ecr gives %q, registry %q, %v", c.RegistryProvider, c.Registry, err)
	}
}
