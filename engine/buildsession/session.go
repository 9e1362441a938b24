// Package buildsession is what a BuildKit session serves to a build:
// the context and Dockerfile, secrets, SSH agents and registry credentials,
// all from this process on the builder's demand and never written to disk.
// The same services go to BuildKit in the job's Docker daemon
// (engine/docker) and to a BuildKit daemon at buildkit-host
// (engine/buildkit).
package buildsession

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth"
	"github.com/moby/buildkit/session/secrets"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"google.golang.org/grpc"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Attachables are the services of a build's session: registry
// credentials (spec.Auth for its registry, nothing for others), spec's
// secrets, read when the build asks for them, and the SSH agents of
// spec.Flags.SSH. getenv serves env secrets and $SSH_AUTH_SOCK.
func Attachables(spec engine.BuildSpec, getenv func(string) string) ([]session.Attachable, error) {
	attachables := []session.Attachable{&authProvider{auth: spec.Auth}}

	store := secretStore{}
	for _, s := range spec.Secrets {
		if s.Src != "" {
			if _, err := os.Stat(s.Src); err != nil {
				return nil, fmt.Errorf("secret %s: %w", s.ID, err)
			}
		}
		store[s.ID] = secretSource{Secret: s, getenv: getenv}
	}
	attachables = append(attachables, secretsprovider.NewSecretProvider(store))

	if len(spec.Flags.SSH) > 0 {
		var confs []sshprovider.AgentConfig
		for _, v := range spec.Flags.SSH {
			id, paths, _ := strings.Cut(v, "=")
			paths = os.Expand(paths, getenv) // default=$SSH_AUTH_SOCK, as the original plugin's README writes it
			conf := sshprovider.AgentConfig{ID: id}
			if paths != "" {
				conf.Paths = strings.Split(paths, ",")
			} else {
				sock := getenv("SSH_AUTH_SOCK")
				if sock == "" {
					return nil, fmt.Errorf("--ssh %s: SSH_AUTH_SOCK is not set: start an ssh-agent, or give a socket or key path as --ssh %s=PATH", v, id)
				}
				conf.Paths = []string{sock}
			}
			confs = append(confs, conf)
		}
		p, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, fmt.Errorf("--ssh: %w", err)
		}
		attachables = append(attachables, p)
	}
	return attachables, nil
}

// secretStore reads each secret when the build asks for it.
type secretStore map[string]secretSource

type secretSource struct {
	engine.Secret
	getenv func(string) string
}

func (s secretStore) GetSecret(_ context.Context, id string) ([]byte, error) {
	src, ok := s[id]
	switch {
	case !ok:
		return nil, secrets.ErrNotFound
	case src.Env != "":
		return []byte(src.getenv(src.Env)), nil
	}
	b, err := os.ReadFile(src.Src)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", id, err)
	}
	return b, nil
}

// authProvider answers the daemon's credential requests: auth for its own
// registry, anonymous for any other. It serves only Credentials; the daemon
// then fetches registry tokens itself.
type authProvider struct {
	auth.UnimplementedAuthServer
	auth engine.Auth
}

func (p *authProvider) Register(server *grpc.Server) {
	auth.RegisterAuthServer(server, p)
}

func (p *authProvider) Credentials(_ context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	if req == nil {
		return nil, errors.New("empty credentials request")
	}
	if p.auth.Server == "" || registryHost(p.auth.Server) != registryHost(req.Host) {
		return &auth.CredentialsResponse{}, nil
	}
	if p.auth.IdentityToken != "" { // as the docker CLI's provider answers for one
		return &auth.CredentialsResponse{Secret: p.auth.IdentityToken}, nil
	}
	return &auth.CredentialsResponse{Username: p.auth.Username, Secret: p.auth.Password}, nil
}

// registryHost reduces a server address ("https://host/v2/", "host") to the
// host BuildKit asks about.
func registryHost(server string) string {
	h := strings.ToLower(server)
	if _, rest, ok := strings.Cut(h, "://"); ok {
		h = rest
	}
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "docker.io", "index.docker.io":
		return "registry-1.docker.io"
	}
	return h
}
