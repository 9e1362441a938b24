package oci

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Registry is the provider for any OCI or Docker registry.
type Registry struct {
	Repo     string // host[:port]/path
	Keychain authn.Keychain
	Client   *Client
	// Fixes says what a refused credential usually needs; empty: the
	// environment variables and the Docker config.
	Fixes string
}

var _ engine.Registry = (*Registry)(nil)

// New returns the provider for c.Registry, which Config.Validate checked.
func New(c *engine.Config, log engine.Reporter) *Registry {
	return &Registry{Repo: engine.StripScheme(strings.TrimSpace(c.Registry)), Keychain: Keychain(c.Getenv), Client: NewClient(log)}
}

// Repository is the configured repository.
func (r *Registry) Repository(context.Context) (string, error) { return r.Repo, nil }

// Can is everything: any registry reads labels and tags by manifest.
func (r *Registry) Can() engine.Capabilities {
	return engine.Capabilities{Remote: true, Labels: true, Tag: true}
}

// Auth finds the credential from the environment or the Docker config.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	return Credentials(ctx, r.Keychain, r.Repo)
}

// Lookup asks the registry for tag. A refused credential names the fixes.
func (r *Registry) Lookup(ctx context.Context, tag string, auth engine.Auth) (string, error) {
	digest, err := r.Client.Lookup(ctx, r.Repo, tag, auth)
	if status, ok := Denied(err); ok {
		fixes := r.Fixes
		if fixes == "" {
			fixes = fmt.Sprintf("check the registry credentials (%s and %s, or the Docker config and its credential helpers)", EnvUsername, EnvPassword)
		}
		return "", fmt.Errorf("registry denied access to %s:%s (HTTP %d): %s; this is not taken for a cache miss: %w", r.Repo, tag, status, fixes, err)
	}
	return digest, err
}

// Labels reads the labels of tag's image config.
func (r *Registry) Labels(ctx context.Context, tag string, auth engine.Auth) (map[string]string, error) {
	return r.Client.Labels(ctx, r.Repo, tag, auth)
}

// ListTags lists the repository's tags.
func (r *Registry) ListTags(ctx context.Context, auth engine.Auth) ([]string, error) {
	return r.Client.Tags(ctx, r.Repo, auth)
}

// Prepare does nothing: registries create repositories on push.
func (r *Registry) Prepare(context.Context) (engine.Prepared, error) { return engine.Prepared{}, nil }
