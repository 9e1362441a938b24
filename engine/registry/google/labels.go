package google

import (
	"context"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

var _ engine.LabelReader = (*Registry)(nil)

// Labels reads the labels of tag's image from the registry without
// pulling it, so that a miss can say what changed since that image.
func (r *Registry) Labels(ctx context.Context, tag string, auth engine.Auth) (map[string]string, error) {
	return r.lookup.Labels(ctx, r.repo, tag, auth)
}
