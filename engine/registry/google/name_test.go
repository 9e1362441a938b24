package google

import (
	"context"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

func config(provider, project, host, name string) *engine.Config {
	c := engine.NewConfig()
	c.RegistryProvider, c.GCPProject, c.RegistryHostname, c.ECRName = provider, project, host, name
	c.DefaultName = "build-cache/my-org/my-pipeline"
	return &c
}

func TestImageNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		c    *engine.Config
		want string
	}{
		{"gcr default host and name", config("gcr", "foo-bar-123456", "", ""), "gcr.io/foo-bar-123456/build-cache/my-org/my-pipeline"},
		{"gcr regional host", config("gcr", "foo-bar-123456", "eu.gcr.io", "my-pipeline"), "eu.gcr.io/foo-bar-123456/my-pipeline"},
		{"gcr host with scheme and slash", config("gcr", "foo-bar-123456", "https://us.gcr.io/", "cache"), "us.gcr.io/foo-bar-123456/cache"},
		{"gcr domain-scoped project", config("gcr", "example.com:my-project", "", "cache"), "gcr.io/example.com/my-project/cache"},
		{"gcr test registry", config("gcr", "foo-bar-123456", "127.0.0.1:5000", "build-cache/x"), "127.0.0.1:5000/foo-bar-123456/build-cache/x"},
		{"artifact registry", config("artifact-registry", "my-project", "europe-west1-docker.pkg.dev", "build-cache/my-pipeline"),
			"europe-west1-docker.pkg.dev/my-project/build-cache/my-pipeline"},
		{"artifact registry default name", config("artifact-registry", "my-project", "us-docker.pkg.dev", ""),
			"us-docker.pkg.dev/my-project/build-cache/my-org/my-pipeline"},
		{"artifact registry domain-scoped project", config("artifact-registry", "example.com:my-project", "europe-west1-docker.pkg.dev", "cache/app"),
			"europe-west1-docker.pkg.dev/example.com/my-project/cache/app"},
	}
	for _, tc := range cases {
		r := New(tc.c, engine.Discard)
		if got, _ := r.Repository(context.Background()); got != tc.want {
			t.Errorf("%s: Repository() = %q, want %q", tc.name, got, tc.want)
		}
		if p, err := r.Prepare(context.Background()); r.Can() != (engine.Capabilities{Remote: true, Labels: true, Tag: true}) || p != (engine.Prepared{}) || err != nil {
			t.Errorf("%s: want a remote registry whose Prepare does nothing", tc.name)
		}
	}
}
