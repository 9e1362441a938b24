package google

import (
	"context"
	"strings"
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
		r, err := New(tc.c, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got, _ := r.Repository(context.Background()); got != tc.want {
			t.Errorf("%s: Repository() = %q, want %q", tc.name, got, tc.want)
		}
		if !r.Remote() || r.Prepare(context.Background()) != nil {
			t.Errorf("%s: want a remote registry whose Prepare does nothing", tc.name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		c    *engine.Config
		want []string // each must appear in the error
	}{
		{"no project", config("gcr", "", "", "cache"), []string{"gcp-project is required with registry-provider: gcr"}},
		{"short project", config("gcr", "abc", "", "cache"), []string{`gcp-project "abc" is not a Google Cloud project ID`, "6 to 30"}},
		{"long project", config("gcr", strings.Repeat("a", 31), "", "cache"), []string{"gcp-project"}},
		{"upper-case project", config("gcr", "Foo-Bar-123456", "", "cache"), []string{`gcp-project "Foo-Bar-123456"`}},
		{"underscore in project", config("gcr", "foo_bar_123456", "", "cache"), []string{"gcp-project"}},
		{"project ending with a hyphen", config("gcr", "foo-bar-123456-", "", "cache"), []string{"gcp-project"}},
		{"project starting with a digit", config("gcr", "1foo-bar", "", "cache"), []string{"gcp-project"}},
		{"project with a bad domain", config("gcr", "example:my-project", "", "cache"), []string{`gcp-project "example:my-project"`}},
		{"artifact registry without a host", config("artifact-registry", "my-project", "", "build-cache/app"),
			[]string{"registry-hostname is required with registry-provider: artifact-registry", "europe-west1-docker.pkg.dev"}},
		{"host with a path", config("gcr", "my-project", "gcr.io/my-project", "cache"), []string{`registry-hostname "gcr.io/my-project" is not host[:port]`}},
		{"artifact registry name without a repository", config("artifact-registry", "my-project", "us-docker.pkg.dev", "app"),
			[]string{`ecr-name "app" has no repository part`, "build-cache/my-pipeline"}},
		{"artifact registry repository id", config("artifact-registry", "my-project", "us-docker.pkg.dev", "1cache/app"),
			[]string{`first path part "1cache"`, "repository IDs"}},
		{"upper-case name", config("gcr", "my-project", "", "Cache"), []string{`ecr-name "Cache" is not a valid image name`}},
		{"every problem at once", config("artifact-registry", "x", "", "app"),
			[]string{"gcp-project", "registry-hostname is required", "ecr-name"}},
	}
	for _, tc := range cases {
		_, err := New(tc.c, nil)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !engine.IsConfigError(err) {
			t.Errorf("%s: %v is not a configuration error", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestDefaultNameIsBlamedAsSuch(t *testing.T) {
	t.Parallel()
	c := config("artifact-registry", "my-project", "us-docker.pkg.dev", "")
	c.DefaultName = "cache"
	_, err := New(c, nil)
	if err == nil || !strings.Contains(err.Error(), `the default image name "cache" (set ecr-name`) {
		t.Errorf("err = %v, want it to name the default and ecr-name", err)
	}
}

func TestProviderIsARegistry(t *testing.T) {
	t.Parallel()
	r, err := Provider(context.Background(), config("gcr", "foo-bar-123456", "", "cache"), nil)
	if err != nil || r == nil {
		t.Fatalf("Provider = %v, %v", r, err)
	}
	if _, err := Provider(context.Background(), config("ecr", "foo-bar-123456", "", "cache"), nil); !engine.IsConfigError(err) {
		t.Errorf("Provider for ecr: %v, want a configuration error", err)
	}
}
