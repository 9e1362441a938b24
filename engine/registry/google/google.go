// Package google is the provider for registry-provider: gcr and
// registry-provider: artifact-registry: Google's Artifact Registry, which
// also serves the gcr.io names since Container Registry shut down.
//
// A hit costs one access token (Application Default Credentials, else a
// Docker credential helper or the Docker config) and one manifest HEAD; a
// miss also asks the Artifact Registry API whether tags are immutable.
// Nothing is created: gcr.io repositories are created on the first push,
// and Artifact Registry repositories must exist before it.
package google

import (
	"context"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Registry is a repository on gcr.io or Artifact Registry. It is safe for
// concurrent use.
type Registry struct {
	provider string // engine.ProviderGCR or engine.ProviderGAR
	host     string // registry host[:port]
	repo     string // host/project/[repository/]name
	arName   string // projects/P/locations/L/repositories/R, or "" (arRepository)
	api      string // the Artifact Registry API's root, ending in /
	log      engine.Reporter
	lookup   *oci.Client
	keychain authn.Keychain // ADC, then the environment and the Docker config
	findADC  adcFinder

	mu       sync.Mutex
	creds    *adc   // the Application Default Credentials, once found
	credsErr error  // why there are none
	shown    string // the credential last reported, to report a new one once
}

var _ engine.Registry = (*Registry)(nil)

// New names the image from c's Google options, which Config.Validate
// checked. It makes no network call: credentials are looked for by Auth.
// log receives the credential's source and retries (engine.Discard: none).
func New(c *engine.Config, log engine.Reporter) *Registry {
	host, repo := imageName(c)
	r := &Registry{
		provider: c.RegistryProvider,
		host:     host,
		repo:     repo,
		arName:   arRepository(host, c.GCPProject, c.RepositoryName()),
		api:      DefaultAPI,
		log:      log,
		lookup:   oci.NewClient(log),
		findADC:  defaultADC,
	}
	if api := strings.TrimSpace(c.Env(APIEndpointEnv)); api != "" {
		r.api = strings.TrimSuffix(api, "/") + "/"
	}
	r.keychain = authn.NewMultiKeychain(adcKeychain{r}, oci.Keychain(c.Getenv))
	return r
}

// Repository is the image name without a tag.
func (r *Registry) Repository(context.Context) (string, error) { return r.repo, nil }

// Can is everything: the registry reads labels and tags by manifest.
func (r *Registry) Can() engine.Capabilities {
	return engine.Capabilities{Remote: true, Labels: true, Tag: true}
}

// ListTags lists the repository's tags through the registry API.
func (r *Registry) ListTags(ctx context.Context, auth engine.Auth) ([]string, error) {
	return r.lookup.Tags(ctx, r.repo, auth)
}

// Labels reads the labels of tag's image from the registry without
// pulling it, so that a miss can say what changed since that image.
func (r *Registry) Labels(ctx context.Context, tag string, auth engine.Auth) (map[string]string, error) {
	return r.lookup.Labels(ctx, r.repo, tag, auth)
}
