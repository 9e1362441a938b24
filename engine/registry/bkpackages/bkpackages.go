// Package bkpackages is the provider for registry-provider:
// buildkite-packages, a container registry of Buildkite Packages,
// packages.buildkite.com/ORG/REGISTRY. It is the OCI provider with the
// job's OIDC token as the credential (buildkite-agent oidc request-token),
// or an API token when no OIDC token can be had, so that no secret needs
// to be stored.
package bkpackages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// User is the registry user that goes with an OIDC or API token.
const User = "buildkite"

// EnvAPIToken holds the API token used when no OIDC token can be had. It
// needs the Read Packages and Write Packages scopes.
const EnvAPIToken = "BUILDKITE_API_TOKEN"

// agentTimeout bounds one buildkite-agent oidc request-token.
const agentTimeout = 60 * time.Second

// Fixes names what a refused credential usually needs.
const Fixes = "allow this pipeline in the registry's OIDC policy (Buildkite Packages > the registry > Settings > OIDC Policy), " +
	"or set " + EnvAPIToken + " to an API token with the Read Packages and Write Packages scopes"

// New returns the provider for c's Buildkite Packages options, which
// Config.Validate checked. It makes no call: tokens are asked for by Auth.
func New(c *engine.Config, log engine.Reporter) *oci.Registry {
	host, path := c.BuildkiteRegistryPath()
	kc := &tokenKeychain{host: host, audience: "https://" + host + "/" + path, getenv: c.Getenv, log: log}
	return &oci.Registry{
		Repo:     host + "/" + path + "/" + c.RepositoryName(),
		Keychain: oci.Keychain(c.Getenv, kc),
		Client:   oci.NewClient(log),
		Fixes:    Fixes,
	}
}

// tokenKeychain is the job's OIDC token for the registry, else the API
// token in the environment; with neither, anonymous, so that the Docker
// config is asked next.
type tokenKeychain struct {
	host     string
	audience string
	getenv   func(string) string
	log      engine.Reporter
}

var _ authn.ContextKeychain = (*tokenKeychain)(nil)

func (k *tokenKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

func (k *tokenKeychain) ResolveContext(ctx context.Context, _ authn.Resource) (authn.Authenticator, error) {
	token, err := k.oidcToken(ctx)
	if err == nil {
		return &authn.Basic{Username: User, Password: token}, nil
	}
	apiToken := ""
	if k.getenv != nil {
		apiToken = k.getenv(EnvAPIToken)
	}
	switch {
	case apiToken == "":
		return nil, fmt.Errorf("getting a Buildkite OIDC token for %s: %w; outside a Buildkite job, set %s to an API token with the Read Packages and Write Packages scopes", k.audience, err, EnvAPIToken)
	case k.host != engine.DefaultBuildkiteHost && !engine.Loopback(k.host):
		// A long-lived secret: never to a host a pipeline could choose.
		return nil, fmt.Errorf("getting a Buildkite OIDC token for %s: %w; %s is sent to %s only, not to %s", k.audience, err, EnvAPIToken, engine.DefaultBuildkiteHost, k.host)
	}
	k.log.Infof("no Buildkite OIDC token (%v): using the API token in %s", err, EnvAPIToken)
	return &authn.Basic{Username: User, Password: apiToken}, nil
}

// oidcToken asks the agent for an OIDC token whose audience is the
// registry, and masks it before anything can print it.
func (k *tokenKeychain) oidcToken(ctx context.Context) (string, error) {
	agent, err := exec.LookPath("buildkite-agent")
	if err != nil {
		return "", errors.New("buildkite-agent is not on PATH")
	}
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, agent, "oidc", "request-token", "--audience", k.audience)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	token := strings.TrimSpace(stdout.String())
	switch {
	case err != nil:
		return "", fmt.Errorf("buildkite-agent oidc request-token: %w: %s", err, lastLine(stderr.String()))
	case token == "" || strings.ContainsAny(token, " \n"):
		return "", errors.New("buildkite-agent oidc request-token printed no token")
	}
	return token, nil
}

// lastLine is the last non-empty line of the agent's messages, which says
// why it failed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
