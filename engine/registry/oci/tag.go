package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// Tag gives the image repo:tag the tag newTag too, in the registry: one
// manifest GET and one PUT of the same bytes, nothing pulled or pushed but
// the manifest.
func (c *Client) Tag(ctx context.Context, repo, tag, newTag string, auth engine.Auth) error {
	src, err := Reference(repo, tag)
	if err != nil {
		return err
	}
	dst, err := Reference(repo, newTag)
	if err != nil {
		return err
	}
	ctx = retry.Phase(ctx, c.Retry)
	desc, err := remote.Get(src, c.options(ctx, auth)...)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, c.explain(ctx, src, auth, err))
	}
	if err := remote.Tag(dst.(name.Tag), desc, c.options(ctx, auth)...); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", src, dst, err)
	}
	return nil
}

// Tag gives the image tag the tag newTag too, in the registry.
func (r *Registry) Tag(ctx context.Context, tag, newTag string, auth engine.Auth) error {
	return r.Client.Tag(ctx, r.Repo, tag, newTag, auth)
}
