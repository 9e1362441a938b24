package acr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/azuretest"
)

// The tests set the process's environment, which azidentity reads: none
// runs in parallel.

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func provider(t *testing.T, s *azuretest.Server, log engine.Reporter) (*engine.Config, func() (engine.Auth, error)) {
	t.Helper()
	c := engine.NewConfig()
	c.RegistryProvider = engine.ProviderACR
	c.RegistryHostname = s.RegistryHost
	c.ECRName = "build-cache/app"
	c.Getenv = func(string) string { return "" }
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := New(&c, log)
	if want := s.RegistryHost + "/build-cache/app"; r.Repo != want {
		t.Errorf("repository %q, want %q", r.Repo, want)
	}
	return &c, func() (engine.Auth, error) { return r.Auth(context.Background()) }
}

// A service principal in the environment: azidentity gets an Azure AD
// token from the authority AZURE_AUTHORITY_HOST names, the provider
// exchanges it once for an ACR refresh token, and the registry
// takes it for lookups through its /oauth2/token.
func TestServicePrincipal(t *testing.T) {
	s := azuretest.Start(t)
	setEnv(t, s.Env())
	log := &reporter{masked: map[string]bool{}}
	c, auth := provider(t, s, log)

	a, err := auth()
	if err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if a.Username != User || a.Password == "" || a.Server != s.RegistryHost {
		t.Fatalf("Auth = %q/%q for %q; want the refresh token", a.Username, a.Password, a.Server)
	}
	// The engine masks what Auth returns; the provider masks only the
	// Azure AD token, which the engine never sees.
	if len(log.masked) != 1 || log.masked[a.Password] {
		t.Errorf("the provider masked %d values (the refresh token: %v), want the Azure AD token alone", len(log.masked), log.masked[a.Password])
	}
	if _, err := auth(); err != nil || s.Count("token") != 1 || s.Count("exchange") != 1 {
		t.Errorf("a second Auth: %v; %d Azure AD tokens and %d exchanges, want 1 each", err, s.Count("token"), s.Count("exchange"))
	}

	want := push(t, s.RegistryHost+"/build-cache/app:k1", a)
	r := New(c, log)
	if got, err := r.Lookup(context.Background(), "k1", a); err != nil || got != want {
		t.Errorf("Lookup(k1) = %q, %v; want %s", got, err, want)
	}
	if _, err := r.Lookup(context.Background(), "missing", a); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup(missing) = %v, want a miss", err)
	}
	// Without the token the registry refuses, and says what to fix.
	_, err = r.Lookup(context.Background(), "k1", engine.Auth{Username: User, Password: "not-a-refresh-token"})
	if err == nil || errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "AcrPull") {
		t.Errorf("a wrong token: %v, want a refusal naming AcrPull", err)
	}
	if log.String() != "" && strings.Contains(log.String(), a.Password) {
		t.Errorf("the refresh token was logged")
	}
}

// Workload identity: the federated token file instead of a secret.
func TestWorkloadIdentity(t *testing.T) {
	s := azuretest.Start(t)
	env := s.Env()
	delete(env, "AZURE_CLIENT_SECRET")
	env["AZURE_FEDERATED_TOKEN_FILE"] = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(env["AZURE_FEDERATED_TOKEN_FILE"], []byte(s.FederatedToken), 0o600); err != nil {
		t.Fatal(err)
	}
	setEnv(t, env)
	_, auth := provider(t, s, engine.Discard)
	if a, err := auth(); err != nil || a.Password == "" || s.Count("exchange") != 1 {
		t.Errorf("Auth = %q, %v after %d exchanges", a.Password, err, s.Count("exchange"))
	}
}

// A secret the authority refuses: an error with its AADSTS code and the
// fixes, and the secret nowhere in it.
func TestRefusedSecret(t *testing.T) {
	s := azuretest.Start(t)
	env := s.Env()
	env["AZURE_CLIENT_SECRET"] = "wrong~secret-0123456789"
	setEnv(t, env)
	_, auth := provider(t, s, engine.Discard)
	_, err := auth()
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), "AZURE_CLIENT_SECRET") || strings.Contains(err.Error(), "wrong~secret") {
		t.Errorf("err = %v", err)
	}
	if s.Count("exchange") != 0 {
		t.Errorf("%d exchanges without an Azure AD token", s.Count("exchange"))
	}
}

func TestPrivateCloud(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"": false, "https://login.microsoftonline.com/": false, "https://login.chinacloudapi.cn": false,
		"https://login.microsoftonline.us/": false, "https://adfs.contoso.local/": true, "https://127.0.0.1:8443/": true,
	} {
		if got := privateCloud(host); got != want {
			t.Errorf("privateCloud(%q) = %v, want %v", host, got, want)
		}
	}
}

// reporter records what is masked and logged.
type reporter struct {
	mu     sync.Mutex
	masked map[string]bool
	b      strings.Builder
}

func (r *reporter) Phase(engine.Phase, string) {}
func (r *reporter) Infof(f string, a ...any)   { r.printf(f, a...) }
func (r *reporter) Warnf(f string, a ...any)   { r.printf(f, a...) }
func (r *reporter) Progress() io.Writer        { return io.Discard }
func (r *reporter) Mask(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.masked[s] = true
}

func (r *reporter) printf(f string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.b, f+"\n", a...)
}

func (r *reporter) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

// push writes a small random image to ref with a's credential, through
// the registry's token service as any client does, and returns its digest.
func push(t *testing.T, ref string, a engine.Auth) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithAuth(&authn.Basic{Username: a.Username, Password: a.Password})); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// Warm exchanges in the background; Auth takes its token, or its error.
func TestWarm(t *testing.T) {
	s := azuretest.Start(t)
	setEnv(t, s.Env())
	c, _ := provider(t, s, engine.Discard)
	r := New(c, engine.Discard)
	r.Warm(context.Background())
	a, err := r.Auth(context.Background())
	if err != nil || a.Password == "" || s.Count("exchange") != 1 {
		t.Errorf("Auth after Warm = %q, %v after %d exchanges, want one", a.Password, err, s.Count("exchange"))
	}

	t.Setenv("AZURE_CLIENT_SECRET", "wrong~secret-0123456789")
	r = New(c, engine.Discard)
	r.Warm(context.Background())
	if _, err := r.Auth(context.Background()); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("Auth after a failed Warm: %v", err)
	}

	// A registry credential in the environment wins: nothing is exchanged.
	s.Reset()
	c.Getenv = func(k string) string {
		return map[string]string{"DOCKER_ECR_CACHE_REGISTRY_USERNAME": "u", "DOCKER_ECR_CACHE_REGISTRY_PASSWORD": "p"}[k]
	}
	r = New(c, engine.Discard)
	r.Warm(context.Background())
	if a, err := r.Auth(context.Background()); err != nil || a.Username != "u" || s.Count("token")+s.Count("exchange") != 0 {
		t.Errorf("with a registry credential: %q, %v; %d requests to the token services", a.Username, err, s.Count("token")+s.Count("exchange"))
	}
}
