package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/azuretest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestACRProvider runs registry-provider: acr end to end: the real
// azidentity gets a service principal's token from the Azure AD test
// authority (AZURE_AUTHORITY_HOST), the provider exchanges it at the
// registry's /oauth2/exchange, and the real daemon pushes and the next
// run hits through the registry's /oauth2/token, against a registry that
// takes only ACR's access tokens. No secret or token shows.
func TestACRProvider(t *testing.T) {
	t.Parallel()
	dockerHost := testenv.Docker(t)
	s := azuretest.Start(t)

	work := markerWork(t, "acr")
	name := fmt.Sprintf("build-cache/acr-e2e-%d", time.Now().UnixNano())
	image := s.RegistryHost + "/" + name
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(), // no Docker config, no az login: the credential is the service principal's
		"DOCKER_HOST=" + dockerHost,
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=acr",
		"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME=" + s.RegistryHost,
		"DOCKER_ECR_CACHE_ECR_NAME=" + name,
	}
	for k, v := range s.Env() {
		env = append(env, k+"="+v)
	}
	run := func(env []string) testenv.Result {
		t.Helper()
		r := testenv.RunCommand(t, work, env)
		if strings.Contains(r.Stdout+r.Stderr, s.ClientSecret) || strings.Contains(r.Stdout+r.Stderr, "eyJ") {
			t.Errorf("the secret or a token was printed:\n%s", r.Stderr)
		}
		return r
	}

	miss := run(env)
	tag := checkMissPushed(t, dockerHost, image, "/v2/"+name+"/manifests/", miss, s.Requests)
	if s.Count("token") != 1 || s.Count("exchange") != 1 || s.Count("acr-token") == 0 {
		t.Errorf("a miss took %d Azure AD tokens, %d exchanges and %d ACR tokens; want 1, 1 and some",
			s.Count("token"), s.Count("exchange"), s.Count("acr-token"))
	}

	s.Reset()
	checkHitSame(t, miss, run(env))
	if got := s.Requests(); len(got) != 1 || got[0] != "HEAD /v2/"+name+"/manifests/"+tag+" 200" {
		t.Errorf("a hit made registry requests %q, want one HEAD", got)
	}

	// A refused secret: exit 1 with Azure AD's reason, nothing built.
	bad := append(append([]string{}, env...), "AZURE_CLIENT_SECRET=wrong~secret-0123456789")
	denied := run(bad)
	if denied.Code != 1 || !strings.Contains(denied.Stderr, "AADSTS7000215") || strings.Contains(denied.Stderr, "wrong~secret") {
		t.Errorf("a refused secret: exit %d\n%s", denied.Code, denied.Stderr)
	}
}
