// Package registry chooses the registry provider named by registry-provider.
package registry

import (
	"context"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/google"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/local"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// New returns the provider for c.RegistryProvider, one of engine.Providers.
func New(ctx context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
	switch c.RegistryProvider {
	case engine.ProviderECR:
		return ecr.Provider(ctx, c, log)
	case engine.ProviderGCR, engine.ProviderGAR:
		return google.Provider(ctx, c, log)
	case engine.ProviderLocal:
		return local.New(c)
	case engine.ProviderRegistry:
		return oci.New(c)
	}
	return nil, engine.Configf("registry-provider %q is not available: use one of %s", c.RegistryProvider, strings.Join(engine.Providers, ", "))
}
