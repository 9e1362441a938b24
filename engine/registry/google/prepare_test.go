package google

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
)

// TestArtifactRegistryNames: the repository resource behind each host.
func TestArtifactRegistryNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ host, name, want string }{
		{"europe-west1-docker.pkg.dev", "build-cache/app", "projects/p/locations/europe-west1/repositories/build-cache"},
		{"us-docker.pkg.dev", "repo/a/b", "projects/p/locations/us/repositories/repo"},
		{"gcr.io", "build-cache/app", "projects/p/locations/us/repositories/gcr.io"},
		{"eu.gcr.io", "app", "projects/p/locations/europe/repositories/eu.gcr.io"},
		{"asia.gcr.io", "app", "projects/p/locations/asia/repositories/asia.gcr.io"},
		{"127.0.0.1:5000", "build-cache/app", ""},
		{"registry.example.com", "build-cache/app", ""},
		{"evil.example-docker.pkg.dev", "build-cache/app", ""},
		{"-docker.pkg.dev", "build-cache/app", ""},
	} {
		if got := arRepository(c.host, "p", c.name); got != c.want {
			t.Errorf("arRepository(%q, p, %q) = %q, want %q", c.host, c.name, got, c.want)
		}
	}
	if got := arRepository("us-docker.pkg.dev", "example.com:p", "r/i"); got != "projects/example.com:p/locations/us/repositories/r" {
		t.Errorf("a domain-scoped project: %q", got)
	}
}

// TestPrepareAsksWhetherTagsAreImmutable: on a miss the provider asks the
// Artifact Registry API (the test server behind gcloud's endpoint setting)
// with the run's access token, and tells the engine that latest cannot
// move where the repository has immutable tags. When it cannot tell, it
// says why and latest is pushed as before.
func TestPrepareAsksWhetherTagsAreImmutable(t *testing.T) {
	s := googletest.Start(t, googletest.Options{})
	s.Setenv(t)
	const host = "europe-west1-docker.pkg.dev"
	name := "projects/" + s.Project + "/locations/europe-west1/repositories/"
	s.SetRepository(name+"immutable", true)
	s.SetRepository(name+"mutable", false)
	s.SetRepository("projects/"+s.Project+"/locations/us/repositories/gcr.io", true)
	prepare := func(t *testing.T, provider, host, image, dockerConfigJSON string) (latestImmutable, log string) {
		t.Helper()
		getenv := dockerConfig(t, dockerConfigJSON)
		c := config(provider, s.Project, host, image)
		c.Getenv = func(k string) string {
			if k == APIEndpointEnv {
				return s.APIURL
			}
			return getenv(k)
		}
		rec := &recorder{}
		p, err := New(c, rec).Prepare(context.Background())
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		return p.LatestImmutable, rec.text()
	}

	t.Run("immutable tags", func(t *testing.T) {
		got, _ := prepare(t, "artifact-registry", host, "immutable/app", "")
		if !strings.Contains(got, name+"immutable has immutable tags") {
			t.Errorf("LatestImmutable = %q, want the repository named", got)
		}
		if want := "GET /v1/" + name + "immutable"; !slices.Contains(s.APIRequests(), want) {
			t.Errorf("API requests %q lack %q", s.APIRequests(), want)
		}
	})
	t.Run("mutable tags", func(t *testing.T) {
		if got, log := prepare(t, "artifact-registry", host, "mutable/app", ""); got != "" || strings.Contains(log, "could not ask") {
			t.Errorf("LatestImmutable = %q, log %q; want neither", got, log)
		}
	})
	t.Run("gcr.io served by Artifact Registry", func(t *testing.T) {
		if got, _ := prepare(t, "gcr", "gcr.io", "app", ""); !strings.Contains(got, "repositories/gcr.io has immutable tags") {
			t.Errorf("LatestImmutable = %q", got)
		}
	})
	t.Run("a registry that is not Artifact Registry is not asked", func(t *testing.T) {
		before := len(s.APIRequests())
		if got, log := prepare(t, "artifact-registry", s.RegistryHost, "immutable/app", ""); got != "" || log != "" {
			t.Errorf("LatestImmutable = %q, log %q; want neither", got, log)
		}
		if len(s.APIRequests()) != before {
			t.Errorf("the API was asked about %s: %q", s.RegistryHost, s.APIRequests()[before:])
		}
	})
	t.Run("refused: said, and latest is pushed", func(t *testing.T) {
		s.DenyRepositories(true)
		defer s.DenyRepositories(false)
		got, log := prepare(t, "artifact-registry", host, "immutable/app", "")
		if got != "" || !strings.Contains(log, "could not ask Artifact Registry whether "+name+"immutable has immutable tags (HTTP 403: Permission 'artifactregistry.repositories.get' denied") {
			t.Errorf("LatestImmutable = %q, log:\n%s", got, log)
		}
	})
	t.Run("not found: said", func(t *testing.T) {
		got, log := prepare(t, "artifact-registry", host, "missing/app", "")
		if got != "" || !strings.Contains(log, "(HTTP 404: Requested entity was not found.)") {
			t.Errorf("LatestImmutable = %q, log:\n%s", got, log)
		}
	})
	t.Run("a key file in the Docker config is not an access token", func(t *testing.T) {
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
		t.Setenv("HOME", t.TempDir()) // no gcloud application default credentials
		before := len(s.APIRequests())
		auth := base64.StdEncoding.EncodeToString([]byte(`_json_key:{"type":"service_account"}`))
		got, log := prepare(t, "artifact-registry", host, "immutable/app", `{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`)
		if got != "" || !strings.Contains(log, "the credential for "+host+" is not an access token") {
			t.Errorf("LatestImmutable = %q, log:\n%s", got, log)
		}
		if len(s.APIRequests()) != before {
			t.Errorf("the API was asked without an access token: %q", s.APIRequests()[before:])
		}
	})
}
