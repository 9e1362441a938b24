package google

import (
	"context"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Lookup asks the registry for tag with one manifest HEAD: 404 is a miss;
// 401 and 403 are errors that name the likely fixes, never a miss.
func (r *Registry) Lookup(ctx context.Context, tag string, auth engine.Auth) (string, error) {
	digest, err := r.lookup.Lookup(ctx, r.repo, tag, auth)
	if status, ok := oci.Denied(err); ok {
		return "", fmt.Errorf("%s refused the credential from %s for %s:%s (HTTP %d): %s: %w",
			r.host, r.credentialSource(), r.repo, tag, status, r.deniedHint(), err)
	}
	return digest, err
}

// deniedHint names what a refused lookup usually needs.
func (r *Registry) deniedHint() string {
	if r.provider == engine.ProviderGAR {
		return "the Artifact Registry repository must exist (gcloud artifacts repositories create REPOSITORY " +
			"--repository-format=docker --location=LOCATION), and the job's principal needs roles/artifactregistry.reader " +
			"to look up and roles/artifactregistry.writer to push on it; check that the token is for the right principal and not expired"
	}
	return "the job's principal needs roles/artifactregistry.reader to look up and roles/artifactregistry.writer " +
		"(roles/artifactregistry.createOnPushWriter for a gcr.io repository not yet created) to push, in the project; " +
		"check that the token is for the right principal and not expired"
}
