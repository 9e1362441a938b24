// Package local is the provider for registry-provider: local, where the
// Docker daemon's own image store is the cache and no registry is needed.
package local

import (
	"context"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Registry keeps images on the daemon only.
type Registry struct{ Name string }

var _ engine.Registry = Registry{}

// New returns the local provider for c's repository name.
func New(c *engine.Config) Registry { return Registry{Name: c.RepositoryName()} }

// Repository is the local image name.
func (r Registry) Repository(context.Context) (string, error) { return r.Name, nil }

// Remote is false: the engine neither looks up nor pushes.
func (r Registry) Remote() bool { return false }

// Auth is empty.
func (r Registry) Auth(context.Context) (engine.Auth, error) { return engine.Auth{}, nil }

// Lookup is never called for a local registry.
func (r Registry) Lookup(_ context.Context, tag string, _ engine.Auth) (string, error) {
	return "", fmt.Errorf("looking up %s:%s: %w", r.Name, tag, engine.ErrNotFound)
}

// Prepare does nothing.
func (r Registry) Prepare(context.Context) error { return nil }
