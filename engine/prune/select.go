package prune

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// For returns the backend that prunes the repository of c, whose provider
// newRegistry makes. With a nil Backend, note says why prune has nothing
// to do there; with one, note may name the registry's own cleanup
// feature, the better way. log is required (engine.Discard says nothing).
func For(ctx context.Context, c *engine.Config, newRegistry func() (engine.Registry, error), log engine.Reporter) (b Backend, note string, err error) {
	switch c.RegistryProvider {
	case engine.ProviderECR:
		return nil, fmt.Sprintf("on ECR, the repository's lifecycle policy expires the images of keys older than max-age-days (%d days): prune has nothing to do", c.MaxAgeDays), nil
	case engine.ProviderLocal:
		return nil, "registry-provider local keeps images on this machine only: prune has nothing to do (docker image prune removes them)", nil
	}
	reg, err := newRegistry()
	if err != nil {
		return nil, "", err
	}
	repo, err := reg.Repository(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("naming the repository: %w", err)
	}
	auth, err := reg.Auth(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("getting credentials for %s: %w", repo, err)
	}
	log.Mask(auth.Password)
	host, _, _ := strings.Cut(repo, "/")
	r := &Registry{Repo: repo, Auth: auth, Client: oci.NewClient(log), Retention: Retention(host)}
	switch {
	case host == "ghcr.io":
		token := auth.Password
		if token == "" {
			token = c.Env("GITHUB_TOKEN")
		}
		if token == "" {
			return nil, "", engine.Configf("prune on ghcr.io needs a GitHub token with the delete:packages scope: set %s (and %s) or GITHUB_TOKEN", oci.EnvPassword, oci.EnvUsername)
		}
		log.Mask(token)
		return &GHCR{Registry: r, API: c.Env("GITHUB_API_URL"), Token: token, Log: log.Warnf}, "", nil
	case strings.HasSuffix(host, "-docker.pkg.dev"):
		note = "Artifact Registry's cleanup policies do this without a job (gcloud artifacts repositories set-cleanup-policies, with a delete condition olderThan " +
			fmt.Sprint(c.MaxAgeDays) + "d and a keep condition keepCount " + fmt.Sprint(c.KeepLast) + "): prefer them"
	case strings.Contains(host, "gitlab") || strings.EqualFold(host, c.Env("CI_REGISTRY")): // a self-hosted GitLab's registry, in its own job
		note = "GitLab's cleanup policy for the container registry (Settings > Packages and registries) does this without a job: prefer it"
	}
	return r, note, nil
}

// PolicyOf is the policy c sets: max-age-days and keep-last.
func PolicyOf(c *engine.Config) Policy {
	return Policy{MaxAge: time.Duration(c.MaxAgeDays) * 24 * time.Hour, KeepLast: c.KeepLast}
}
