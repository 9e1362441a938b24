package ecr

import (
	"context"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Tag gives the image tag the tag newTag too, in the registry, without
// pulling it (a manifest GET and PUT).
func (r *Registry) Tag(ctx context.Context, tag, newTag string, auth engine.Auth) error {
	repo, err := r.Repository(ctx)
	if err != nil {
		return err
	}
	return r.lookup.Tag(ctx, repo, tag, newTag, auth)
}

// Labels reads the labels of tag's image config from the registry,
// without pulling it.
func (r *Registry) Labels(ctx context.Context, tag string, auth engine.Auth) (map[string]string, error) {
	repo, err := r.Repository(ctx)
	if err != nil {
		return nil, err
	}
	return r.lookup.Labels(ctx, repo, tag, auth)
}

// ListTags lists the repository's tags through the registry API.
func (r *Registry) ListTags(ctx context.Context, auth engine.Auth) ([]string, error) {
	repo, err := r.Repository(ctx)
	if err != nil {
		return nil, err
	}
	return r.lookup.Tags(ctx, repo, auth)
}
