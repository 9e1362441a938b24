// Package google is the provider for registry-provider: gcr and
// registry-provider: artifact-registry: Google's Artifact Registry, which
// also serves the gcr.io names since Container Registry shut down.
//
// A run costs one access token (Application Default Credentials, else a
// Docker credential helper or the Docker config) and one manifest HEAD.
// Nothing is created: gcr.io repositories are created on the first push,
// and Artifact Registry repositories must exist before it.
package google

import (
	"context"
	"sync"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Registry is a repository on gcr.io or Artifact Registry. It is safe for
// concurrent use.
type Registry struct {
	provider string // engine.ProviderGCR or engine.ProviderGAR
	host     string // registry host[:port]
	repo     string // host/project/[repository/]name
	getenv   func(string) string
	log      engine.Reporter
	lookup   *oci.Client
	findADC  adcFinder

	mu     sync.Mutex
	auth   *engine.Auth // the run's credential
	source string       // where auth came from, for messages
	expiry time.Time    // when auth's access token expires; zero if it does not
}

var _ engine.Registry = (*Registry)(nil)

// New checks c's Google options and names the image. It makes no network
// call: credentials are looked for by Auth.
func New(c *engine.Config, log engine.Reporter) (*Registry, error) {
	host, repo, err := imageName(c)
	if err != nil {
		return nil, err
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if log == nil {
		log = nopReporter{}
	}
	return &Registry{
		provider: c.RegistryProvider,
		host:     host,
		repo:     repo,
		getenv:   getenv,
		log:      log,
		lookup:   oci.DefaultClient,
		findADC:  defaultADC,
	}, nil
}

// Provider is New as the registry factory map wants it.
func Provider(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
	r, err := New(c, log)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Repository is the image name without a tag.
func (r *Registry) Repository(context.Context) (string, error) { return r.repo, nil }

// Remote is true: images are looked up in and pushed to the registry.
func (r *Registry) Remote() bool { return true }

// Prepare does nothing. gcr.io repositories are created by the first push
// (given the permission to); Artifact Registry repositories must already
// exist, and a push to a missing one fails.
func (r *Registry) Prepare(context.Context) error { return nil }
