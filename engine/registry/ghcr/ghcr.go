// Package ghcr is the provider for registry-provider: ghcr, GitHub's
// container registry, reached with the job's GitHub token: the OCI
// provider with the GITHUB_ACTOR and GITHUB_TOKEN credential, and the
// fixes GitHub's refusals need.
package ghcr

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// The variables holding the GitHub credential. The GitHub Action sets
// GITHUB_TOKEN from its github-token input.
const (
	EnvActor = "GITHUB_ACTOR"
	EnvToken = "GITHUB_TOKEN"
)

// PermissionsFix is what a job needs to push to GHCR with its token.
const PermissionsFix = "the job's GitHub token may not write packages: add to the job (or the workflow)\n" +
	"  permissions:\n    contents: read\n    packages: write\n" +
	"and, if the package already exists, give this repository write access in the package's settings (Manage Actions access)"

// Registry is a GHCR repository.
type Registry struct{ *oci.Registry }

var (
	_ engine.Registry  = Registry{}
	_ engine.Explainer = Registry{}
)

// New returns the provider for c.Registry, which Config.Validate checked.
// The credential is DOCKER_ECR_CACHE_REGISTRY_USERNAME and _PASSWORD when
// set, else GITHUB_ACTOR and GITHUB_TOKEN, else the Docker config's.
func New(c *engine.Config, log engine.Reporter) Registry {
	r := oci.New(c, log)
	r.Keychain = oci.Keychain(c.Getenv, tokenKeychain{c.Getenv})
	r.Fixes = "the GitHub token needs read access to the package (permissions: packages: read, " +
		"and for a package of another repository, this repository's access in the package's settings)"
	return Registry{r}
}

// Explain names the permission a refused push needs.
func (r Registry) Explain(err error) error {
	if errors.Is(err, engine.ErrDenied) {
		return fmt.Errorf("%w\n%s", err, PermissionsFix)
	}
	return err
}

// tokenKeychain is GITHUB_ACTOR and GITHUB_TOKEN, for the registry host.
type tokenKeychain struct{ getenv func(string) string }

func (k tokenKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if k.getenv == nil || k.getenv(EnvToken) == "" {
		return authn.Anonymous, nil
	}
	actor := k.getenv(EnvActor)
	if actor == "" {
		return nil, engine.Configf("%s is set but %s is not: set it to the user the token belongs to (GitHub sets it for every job)", EnvToken, EnvActor)
	}
	return &authn.Basic{Username: actor, Password: k.getenv(EnvToken)}, nil
}
