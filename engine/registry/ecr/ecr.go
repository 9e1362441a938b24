// Package ecr is the provider for registry-provider: ecr, the default: AWS
// Elastic Container Registry through aws-sdk-go-v2.
//
// A hit costs one GetAuthorizationToken, one manifest HEAD on the registry
// (after the API check that tells its auth scheme),
// and one STS GetCallerIdentity only when the registry host has to be
// derived from the caller's account (no ecr-account-id, no
// registry-hostname). Repository creation, tags and the lifecycle policy
// are looked at only on a miss, in Prepare.
package ecr

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Registry is an ECR repository. It is safe for concurrent use.
type Registry struct {
	s      settings
	aws    aws.Config
	ecr    *ecr.Client
	sts    *sts.Client
	log    engine.Reporter
	lookup *oci.Client

	mu      sync.Mutex
	account string            // resolved account, when needed
	host    string            // resolved registry host
	auth    *authn.AuthConfig // the run's one token
}

var _ engine.Registry = (*Registry)(nil)

// New loads the AWS configuration for c's ECR options, which
// Config.Validate checked. It makes no network call.
func New(ctx context.Context, c *engine.Config, log engine.Reporter) (*Registry, error) {
	s := settingsFrom(c)
	cfg, err := loadAWS(ctx, s.region, log)
	if err != nil {
		return nil, err
	}
	return &Registry{
		s:      s,
		aws:    cfg,
		ecr:    ecr.NewFromConfig(cfg),
		sts:    sts.NewFromConfig(cfg),
		log:    log,
		lookup: oci.NewClient(log),
	}, nil
}

// Can is everything: ECR is a registry that reads labels and tags by
// manifest.
func (r *Registry) Can() engine.Capabilities {
	return engine.Capabilities{Remote: true, Labels: true, Tag: true}
}

// registryID is the RegistryId for API calls: the given account, or nil
// for the caller's own.
func (r *Registry) registryID() *string {
	if r.s.account == "" {
		return nil
	}
	return aws.String(r.s.account)
}

// Provider is New as the registry factory map wants it.
func Provider(ctx context.Context, c *engine.Config, log engine.Reporter) (engine.Registry, error) {
	r, err := New(ctx, c, log)
	if err != nil {
		return nil, err
	}
	return r, nil
}
