package ecr

import (
	"context"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Lookup asks the registry for tag with one manifest HEAD. A 401 or 403 is
// an authentication error, never a miss.
func (r *Registry) Lookup(ctx context.Context, tag string, auth engine.Auth) (string, error) {
	repo, err := r.Repository(ctx)
	if err != nil {
		return "", err
	}
	digest, err := r.lookup.Lookup(ctx, repo, tag, auth)
	if status, ok := oci.Denied(err); ok {
		return "", fmt.Errorf("ECR refused the authorization token (HTTP %d): check the ECR token "+
			"(from ecr:GetAuthorizationToken, valid 12 hours, for this region) and the job's permissions on the repository "+
			"(ecr:BatchGetImage; for another account's registry, its repository policy too): %w", status, err)
	}
	return digest, err
}
