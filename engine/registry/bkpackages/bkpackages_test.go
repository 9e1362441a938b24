package bkpackages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/bkpackagestest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func config(s *bkpackagestest.Server, env map[string]string) *engine.Config {
	c := engine.NewConfig()
	c.RegistryProvider = engine.ProviderBuildkite
	c.RegistryHostname = s.Host
	c.BuildkiteRegistry = bkpackagestest.Registry
	c.ECRName = "app"
	c.Getenv = func(k string) string { return env[k] }
	return &c
}

// The OIDC token for the registry's audience is the credential; without
// an agent, the API token is; with neither, the error says what to set.
// The tokens are the engine's to mask, once, as Auth returns them: the
// provider masks nothing itself.
func TestAuth(t *testing.T) {
	s := bkpackagestest.Start(t)
	env := map[string]string{"BUILDKITE_ORGANIZATION_SLUG": bkpackagestest.Org}
	c := config(s, env)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var log testenv.Buffer
	masked := map[string]bool{}
	r := New(c, reporter{&log, masked})
	if want := s.Host + "/acme/build-cache/app"; r.Repo != want {
		t.Errorf("repository %q, want %q", r.Repo, want)
	}
	ecrtest.PushImage(t, s.Backend.Host, "acme/build-cache/app", "k1", "", "", "content")

	t.Setenv("PATH", s.Agent(t, s.Token))
	auth, err := r.Auth(context.Background())
	if err != nil || auth.Username != User || auth.Password != s.Token {
		t.Fatalf("Auth = %q/%q, %v; want the OIDC token", auth.Username, auth.Password, err)
	}
	if _, err := r.Lookup(context.Background(), "k1", auth); err != nil {
		t.Errorf("Lookup with the OIDC token: %v", err)
	}
	if _, err := r.Lookup(context.Background(), "missing", auth); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup(missing) = %v, want a miss", err)
	}

	t.Setenv("PATH", t.TempDir()) // no agent
	_, err = r.Auth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "buildkite-agent is not on PATH") || !strings.Contains(err.Error(), EnvAPIToken) {
		t.Errorf("no agent and no API token: %v", err)
	}
	env[EnvAPIToken] = "bkua_api-token-0123456789"
	auth, err = r.Auth(context.Background())
	if err != nil || auth.Password != env[EnvAPIToken] {
		t.Errorf("with the API token: %q, %v", auth.Password, err)
	}
	if len(masked) != 0 {
		t.Errorf("the provider masked %d values itself", len(masked))
	}
	// The registry takes only the OIDC token: the API token is refused
	// with the fixes, never taken for a miss.
	_, err = r.Lookup(context.Background(), "k1", auth)
	if err == nil || errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "OIDC Policy") {
		t.Errorf("a refused token: %v", err)
	}

	// The API token goes to packages.buildkite.com only.
	c.RegistryHostname = "packages.example.com"
	if _, err := New(c, engine.Discard).Auth(context.Background()); err == nil || !strings.Contains(err.Error(), "is sent to packages.buildkite.com only") {
		t.Errorf("the API token for another host: %v", err)
	}
	c.RegistryHostname = s.Host

	// An agent that refuses (the audience is not allowed): its reason.
	other := s.Agent(t, s.Token)
	c.BuildkiteRegistry = "other"
	delete(env, EnvAPIToken)
	t.Setenv("PATH", other)
	_, err = New(c, engine.Discard).Auth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "audience https://"+s.Host+"/acme/other is not allowed") {
		t.Errorf("a refused audience: %v", err)
	}
	if strings.Contains(log.String(), s.Token) {
		t.Errorf("the token was logged")
	}
}

// reporter records what is masked.
type reporter struct {
	*testenv.Buffer
	masked map[string]bool
}

func (r reporter) Phase(engine.Phase, string) {}
func (r reporter) Infof(f string, a ...any)   { fmt.Fprintf(r.Buffer, f+"\n", a...) }
func (r reporter) Warnf(f string, a ...any)   { fmt.Fprintf(r.Buffer, f+"\n", a...) }
func (r reporter) Mask(s string)              { r.masked[s] = true }
func (r reporter) Progress() io.Writer        { return r.Buffer }
