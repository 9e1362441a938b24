package google

import (
	"context"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Tag gives the image tag the tag newTag too, in the registry, without
// pulling it (a manifest GET and PUT).
func (r *Registry) Tag(ctx context.Context, tag, newTag string, auth engine.Auth) error {
	return r.lookup.Tag(ctx, r.repo, tag, newTag, auth)
}
