// Package registry chooses the registry provider named by registry-provider.
package registry

import (
	"context"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/acr"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/bkpackages"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ghcr"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/google"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/local"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// constructor builds a provider from the configuration.
type constructor func(ctx context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error)

var providers = map[string]constructor{
	engine.ProviderECR: ecr.Provider,
	engine.ProviderGCR: newGoogle,
	engine.ProviderGAR: newGoogle,
	engine.ProviderLocal: func(_ context.Context, c *engine.Config, _ engine.Reporter) (engine.Registry, error) {
		return local.New(c), nil
	},
	engine.ProviderGHCR: func(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
		return ghcr.New(c, log), nil
	},
	engine.ProviderACR: func(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
		return acr.New(c, log), nil
	},
	engine.ProviderBuildkite: func(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
		return bkpackages.New(c, log), nil
	},
	engine.ProviderRegistry: func(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
		return oci.New(c, log), nil
	},
}

func newGoogle(_ context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
	return google.New(c, log), nil
}

// New returns the provider for c.RegistryProvider.
func New(ctx context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
	newProvider, ok := providers[c.RegistryProvider]
	if !ok {
		return nil, engine.Configf("registry-provider %q is not available: use one of %s", c.RegistryProvider, strings.Join(engine.Providers, ", "))
	}
	return newProvider(ctx, c, log)
}
