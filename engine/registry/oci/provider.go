package oci

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Registry is the provider for any OCI or Docker registry.
type Registry struct {
	Repo     string // host[:port]/path
	Keychain authn.Keychain
	Client   *Client
}

var (
	_ engine.Registry    = (*Registry)(nil)
	_ engine.LabelReader = (*Registry)(nil)
)

// New returns the provider for c.Registry, which Config.Validate checked.
func New(c *engine.Config, log engine.Reporter) *Registry {
	return &Registry{Repo: StripScheme(strings.TrimSpace(c.Registry)), Keychain: Keychain(c.Getenv), Client: NewClient(log)}
}

// Repository is the configured repository.
func (r *Registry) Repository(context.Context) (string, error) { return r.Repo, nil }

// Remote is true.
func (r *Registry) Remote() bool { return true }

// Auth finds the credential from the environment or the Docker config.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	return Credentials(ctx, r.Keychain, r.Repo)
}

// Lookup asks the registry for tag.
func (r *Registry) Lookup(ctx context.Context, tag string, auth engine.Auth) (string, error) {
	return r.Client.Lookup(ctx, r.Repo, tag, auth)
}

// Labels reads the labels of tag's image config.
func (r *Registry) Labels(ctx context.Context, tag string, auth engine.Auth) (map[string]string, error) {
	return r.Client.Labels(ctx, r.Repo, tag, auth)
}

// Prepare does nothing: registries create repositories on push.
func (r *Registry) Prepare(context.Context) error { return nil }
