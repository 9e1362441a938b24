// Package local is the provider for registry-provider: local, where the
// Docker daemon's own image store is the cache and no registry is needed.
package local

import (
	"context"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Registry keeps images on the daemon only: it can do nothing in a
// registry, and says so in Can.
type Registry struct{ Name string }

var _ engine.Registry = Registry{}

// New returns the local provider for c's repository name.
func New(c *engine.Config) Registry { return Registry{Name: c.RepositoryName()} }

// Repository is the local image name.
func (r Registry) Repository(context.Context) (string, error) { return r.Name, nil }

// Can is nothing: the engine neither looks up nor pushes, and reads and
// moves latest on the daemon.
func (r Registry) Can() engine.Capabilities { return engine.Capabilities{} }

// Auth is empty.
func (r Registry) Auth(context.Context) (engine.Auth, error) { return engine.Auth{}, nil }

// Lookup finds nothing: there is no registry.
func (r Registry) Lookup(_ context.Context, tag string, _ engine.Auth) (string, error) {
	return "", fmt.Errorf("looking up %s:%s: %w", r.Name, tag, engine.ErrNotFound)
}

// Labels is unsupported: the daemon holds the labels.
func (r Registry) Labels(_ context.Context, tag string, _ engine.Auth) (map[string]string, error) {
	return nil, fmt.Errorf("reading %s:%s: %w", r.Name, tag, engine.ErrUnsupported)
}

// Tag is unsupported: the daemon tags.
func (r Registry) Tag(_ context.Context, tag, newTag string, _ engine.Auth) error {
	return fmt.Errorf("tagging %s:%s as %s: %w", r.Name, tag, newTag, engine.ErrUnsupported)
}

// ListTags is unsupported: the daemon holds the images.
func (r Registry) ListTags(context.Context, engine.Auth) ([]string, error) {
	return nil, fmt.Errorf("listing the tags of %s: %w", r.Name, engine.ErrUnsupported)
}

// Prepare does nothing.
func (r Registry) Prepare(context.Context) (engine.Prepared, error) { return engine.Prepared{}, nil }
