package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Auth returns the registry credential from one GetAuthorizationToken per
// run: user AWS, the token's password, for the registry host. It is only
// ever handed over per request, never written anywhere; the engine masks
// it, and the token, which is base64 user:password.
func (r *Registry) Auth(ctx context.Context) (engine.Auth, error) {
	host, err := r.registryHost(ctx)
	if err != nil {
		return engine.Auth{}, err
	}
	cfg, err := authn.Authorization(ctx, r)
	if err != nil {
		return engine.Auth{}, fmt.Errorf("getting an ECR token for %s: %w", host, err)
	}
	return engine.Auth{Server: host, Username: cfg.Username, Password: cfg.Password}, nil
}

var _ authn.ContextAuthenticator = (*Registry)(nil)

// Authorization is AuthorizationContext without a deadline.
func (r *Registry) Authorization() (*authn.AuthConfig, error) {
	return r.AuthorizationContext(context.Background())
}

// AuthorizationContext makes the registry an authn.Authenticator: the
// run's one ECR token, asked for with GetAuthorizationToken the first time.
func (r *Registry) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.auth != nil {
		return r.auth, nil
	}
	if err := r.credentials(ctx); err != nil {
		return nil, err
	}
	out, err := r.ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, explain("ecr:GetAuthorizationToken", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, errors.New("the answer held no authorization data")
	}
	user, password, err := decodeToken(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return nil, err
	}
	r.auth = &authn.AuthConfig{Username: user, Password: password}
	return r.auth, nil
}

// decodeToken splits ECR's base64 "user:password" token. Its errors never
// quote the token.
func decodeToken(token string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", "", errors.New("the authorization token is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || password == "" {
		return "", "", errors.New("the authorization token is not user:password")
	}
	return user, password, nil
}
