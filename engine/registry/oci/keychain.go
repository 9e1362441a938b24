package oci

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Environment variables holding a registry credential, which win over the
// Docker config.
const (
	EnvUsername = "DOCKER_ECR_CACHE_REGISTRY_USERNAME"
	EnvPassword = "DOCKER_ECR_CACHE_REGISTRY_PASSWORD"
)

// Keychain finds a registry credential: EnvUsername and EnvPassword from
// getenv first, then the provider's keychains in order, then the Docker
// config (DOCKER_CONFIG, ~/.docker), its credential helpers, identity
// tokens and index.docker.io keys, as authn.DefaultKeychain reads them. It
// reads, never writes.
func Keychain(getenv func(string) string, provider ...authn.Keychain) authn.Keychain {
	kcs := append([]authn.Keychain{envKeychain{getenv}}, provider...)
	return authn.NewMultiKeychain(append(kcs, authn.DefaultKeychain)...)
}

// envKeychain is the credential in the environment, for every registry.
type envKeychain struct{ getenv func(string) string }

func (k envKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if k.getenv == nil {
		return authn.Anonymous, nil
	}
	u, p := k.getenv(EnvUsername), k.getenv(EnvPassword)
	switch {
	case u == "" && p == "":
		return authn.Anonymous, nil
	case u == "" || p == "":
		return nil, engine.Configf("set both %s and %s, or neither", EnvUsername, EnvPassword)
	}
	return &authn.Basic{Username: u, Password: p}, nil
}

// Credentials resolves repo's credential in kc, as the engine hands it to
// the daemon. No credential is not an error: the registry may allow
// anonymous access, and then the Auth is empty but for its Server.
func Credentials(ctx context.Context, kc authn.Keychain, repo string) (engine.Auth, error) {
	host, _, _ := strings.Cut(repo, "/")
	auth := engine.Auth{Server: host}
	var opts []name.Option
	if engine.Loopback(host) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.NewRepository(repo, opts...)
	if err != nil {
		return auth, fmt.Errorf("repository %s: %w", repo, err)
	}
	a, err := authn.Resolve(ctx, kc, r)
	if err != nil {
		return auth, fmt.Errorf("finding the credential for %s: %w", host, err)
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil {
		return auth, fmt.Errorf("finding the credential for %s: %w", host, err)
	}
	auth.Username, auth.Password, auth.IdentityToken = cfg.Username, cfg.Password, cfg.IdentityToken
	if auth.Username == "" && auth.Password == "" && cfg.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(cfg.Auth)
		if err != nil {
			return auth, fmt.Errorf("reading the Docker config's auth for %s: it is not base64", host)
		}
		auth.Username, auth.Password, _ = strings.Cut(string(raw), ":")
	}
	return auth, nil
}
