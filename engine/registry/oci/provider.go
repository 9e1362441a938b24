package oci

import (
	"context"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Registry is the provider for any OCI or Docker registry.
type Registry struct {
	Repo   string // host[:port]/path
	Getenv func(string) string
	Client *Client
}

var (
	_ engine.Registry    = (*Registry)(nil)
	_ engine.LabelReader = (*Registry)(nil)
)

// New returns the provider for c.Registry.
func New(c *engine.Config) (*Registry, error) {
	repo := StripScheme(c.Registry)
	host, path, ok := strings.Cut(repo, "/")
	if !ok || host == "" || path == "" || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return nil, engine.Configf("registry %q is not host[:port]/path: write for example ghcr.io/my-org/build-cache", c.Registry)
	}
	if strings.ToLower(path) != path {
		return nil, engine.Configf("registry %q: repository paths must be lower case", c.Registry)
	}
	return &Registry{Repo: repo, Getenv: c.Getenv, Client: DefaultClient}, nil
}

// Repository is the configured repository.
func (r *Registry) Repository(context.Context) (string, error) { return r.Repo, nil }

// Remote is true.
func (r *Registry) Remote() bool { return true }

// Auth finds the credential from the environment or the Docker config.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	host, _, _ := strings.Cut(r.Repo, "/")
	return Credentials(ctx, host, r.Getenv)
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
