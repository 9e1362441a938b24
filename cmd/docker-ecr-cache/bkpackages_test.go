package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/bkpackagestest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestBuildkitePackagesProvider runs registry-provider: buildkite-packages
// end to end: a stub buildkite-agent on PATH hands out a signed OIDC token
// for the registry's audience, the registry takes only that token, the
// real daemon pushes and the next run hits. The token never shows.
func TestBuildkitePackagesProvider(t *testing.T) {
	t.Parallel()
	dockerHost := testenv.Docker(t)
	s := bkpackagestest.Start(t)
	agent := s.Agent(t, s.Token)

	work := markerWork(t, "packages")
	name := fmt.Sprintf("app-%d", time.Now().UnixNano())
	image := s.Host + "/" + bkpackagestest.Org + "/" + bkpackagestest.Registry + "/" + name
	env := []string{
		"PATH=" + agent + ":" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(), // no Docker config: the credential is the OIDC token
		"DOCKER_HOST=" + dockerHost,
		"BUILDKITE_ORGANIZATION_SLUG=" + bkpackagestest.Org,
		"DOCKER_ECR_CACHE_REGISTRY_PROVIDER=buildkite-packages",
		"DOCKER_ECR_CACHE_BUILDKITE_REGISTRY=" + bkpackagestest.Registry,
		"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME=" + s.Host,
		"DOCKER_ECR_CACHE_ECR_NAME=" + name,
	}
	run := func(env []string) testenv.Result {
		t.Helper()
		r := testenv.RunCommand(t, work, env)
		if strings.Contains(r.Stdout+r.Stderr, s.Token) {
			t.Errorf("the OIDC token was printed")
		}
		return r
	}

	miss := run(env)
	checkMissPushed(t, dockerHost, image, "/v2/"+bkpackagestest.Org+"/"+bkpackagestest.Registry+"/"+name+"/manifests/", miss, s.Requests)
	calls := bkpackagestest.Calls(t, agent)
	if len(calls) == 0 || calls[0] != "oidc request-token --audience "+s.Audience {
		t.Errorf("agent calls %q, want oidc request-token --audience %s", calls, s.Audience)
	}

	checkHitSame(t, miss, run(env))

	// A token the registry does not take (another registry's audience):
	// a refusal that names the fixes, not a miss.
	other := s.Agent(t, s.Sign(t, "https://packages.buildkite.com/acme/other", time.Now().Add(time.Minute)))
	env[0] = "PATH=" + other + ":" + os.Getenv("PATH")
	denied := run(env)
	if denied.Code != 1 || !strings.Contains(denied.Stderr, "HTTP 401") || !strings.Contains(denied.Stderr, "OIDC Policy") {
		t.Errorf("a refused token: exit %d\n%s", denied.Code, denied.Stderr)
	}
}
