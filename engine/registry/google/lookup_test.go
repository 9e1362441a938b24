package google

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
)

func TestLookupWithApplicationDefaultCredentials(t *testing.T) {
	s := googletest.Start(t, googletest.Options{})
	s.Setenv(t)
	digest := ecrtest.PushImage(t, s.RegistryHost, s.Project+"/build-cache/app", "abc", googletest.TokenUser, s.Token, "layer")
	s.Registry.Reset()

	c := config("artifact-registry", s.Project, s.RegistryHost, "build-cache/app")
	c.Getenv = dockerConfig(t, "")
	r := newRegistry(t, c, engine.Discard)
	ctx := context.Background()
	auth, err := r.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Lookup(ctx, "abc", auth)
	if err != nil || got != digest {
		t.Fatalf("Lookup(abc) = %q, %v; want %s", got, err, digest)
	}
	if reqs := strings.Join(s.Registry.Requests(), ", "); reqs != "HEAD /v2/"+s.Project+"/build-cache/app/manifests/abc 200" {
		t.Errorf("requests = %q, want one HEAD", reqs)
	}
	if _, err := r.Lookup(ctx, "missing", auth); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Lookup(missing) = %v, want ErrNotFound", err)
	}
	if labels, err := r.Labels(ctx, "abc", auth); err != nil || len(labels) != 0 {
		t.Errorf("Labels(abc) = %v, %v; want the image's (no) labels", labels, err)
	}
}

func TestLookupWithATokenTheRegistryRefuses(t *testing.T) {
	s := googletest.Start(t, googletest.Options{})
	s.Setenv(t)
	s.HandOut("ya29.a-token-for-someone-else")
	for _, provider := range []string{"gcr", "artifact-registry"} {
		c := config(provider, s.Project, s.RegistryHost, "build-cache/app")
		c.Getenv = dockerConfig(t, "")
		r := newRegistry(t, c, engine.Discard)
		auth, err := r.Auth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Lookup(context.Background(), "abc", auth)
		if err == nil || errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("%s: err = %v, want an authentication error that is not a miss", provider, err)
		}
		for _, w := range []string{"refused the credential from Application Default Credentials (service account", "HTTP 401", "roles/artifactregistry.reader"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", provider, err, w)
			}
		}
		if provider == "artifact-registry" && !strings.Contains(err.Error(), "repository must exist") {
			t.Errorf("artifact-registry: error %q does not say the repository must exist", err)
		}
		if strings.Contains(err.Error(), "ya29.") {
			t.Errorf("the error shows the token: %q", err)
		}
	}
}
