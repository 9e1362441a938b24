package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"build/Dockerfile": "FROM scratch\n", "npmrc": "x"})
	c := NewConfig()
	c.WorkDir = dir
	c.Dockerfile = "build/Dockerfile"
	c.BuildArgs = []string{"A=1", "BARE"}
	c.AdditionalBuildArgs = "--build-arg EXTRA --network host --platform linux/arm64"
	c.Secrets = []string{"TOKEN", "id=npmrc,src=npmrc"}
	c.Getenv = mapEnv(map[string]string{"BARE": "b", "EXTRA": "e", "TOKEN": "t"})
	p, err := c.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if p.Platform != "linux/arm64" || p.Flags.Network != "host" {
		t.Errorf("platform %q, flags %+v", p.Platform, p.Flags)
	}
	if want := []string{"A=1", "BARE=b", "EXTRA=e"}; !slices.Equal(p.BuildArgs, want) {
		t.Errorf("build args %q, want %q", p.BuildArgs, want)
	}
	if want := []Secret{{ID: "TOKEN", Env: "TOKEN"}, {ID: "npmrc", Src: filepath.Join(dir, "npmrc")}}; !slices.Equal(p.Secrets, want) {
		t.Errorf("secrets %+v, want %+v", p.Secrets, want)
	}
	if p.Dockerfile != filepath.Join(dir, "build/Dockerfile") || p.ContextDir != filepath.Join(dir, "build") {
		t.Errorf("dockerfile %s, context %s", p.Dockerfile, p.ContextDir)
	}

	// Relative to the process's directory when no WorkDir is set: absolute.
	rel := NewConfig()
	rel.DockerfileInline = "FROM scratch\n"
	p, err = rel.Plan()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if p.ContextDir != wd || p.Dockerfile != "" || p.Platform != "" {
		t.Errorf("context %s (want %s), dockerfile %q, platform %q", p.ContextDir, wd, p.Dockerfile, p.Platform)
	}
	if k, err := ComputeKey(&rel); err != nil || k.Inputs[2] != (Input{"platform", digest([]byte(DefaultPlatform()))}) {
		t.Errorf("ComputeKey without a platform: %v, %v; want this machine's %s", k.Inputs, err, DefaultPlatform())
	}
}

// TestPlanProblems checks each message of Validate, the registry
// providers' rules included.
func TestPlanProblems(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 129)
	tests := []struct {
		name string
		set  func(c *Config)
		want string // "" for a valid configuration
	}{
		{"defaults", func(c *Config) {}, ""},
		{"platform and --platform agree", func(c *Config) { c.Platform, c.AdditionalBuildArgs = "linux/arm64", "--platform linux/arm64" }, ""},
		{"platform and --platform differ", func(c *Config) { c.Platform, c.AdditionalBuildArgs = "linux/arm64", "--platform linux/amd64" },
			`platform is "linux/arm64" but additional-build-args says --platform linux/amd64: keep one`},
		{"bad --platform", func(c *Config) { c.AdditionalBuildArgs = "--platform=arm64" },
			`additional-build-args: --platform "arm64" is not os/arch[/variant]`},
		{"secret file missing", func(c *Config) { c.Secrets = []string{"id=x,src=missing.txt"} },
			`secrets entry "id=x,src=missing.txt": file missing.txt cannot be read`},
		{"secret env unset", func(c *Config) { c.Secrets = []string{"UNSET"} },
			"secrets: UNSET is not set in the environment"},
		{"secret unknown field", func(c *Config) { c.Secrets = []string{"id=x,mode=0400"} }, `unknown field "mode"`},
		{"secret type", func(c *Config) { c.Secrets = []string{"id=x,type=ssh"} }, "type must be file or env"},
		{"secret without id", func(c *Config) { c.Secrets = []string{"env=X"} }, "has no id"},
		{"secret not a name", func(c *Config) { c.Secrets = []string{"my-secret"} }, "is not a variable name"},

		// registry-provider: registry
		{"registry", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "https://ghcr.io/my-org/cache/" }, ""},
		{"registry localhost", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "localhost/cache" }, ""},
		{"registry missing", func(c *Config) { c.RegistryProvider = ProviderRegistry },
			"registry is required with registry-provider: registry: set it to host[:port]/path"},
		{"registry without path", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io" },
			`registry "ghcr.io" is not host[:port]/path: write for example ghcr.io/my-org/build-cache`},
		{"registry without host", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "my-org/cache" },
			`registry "my-org/cache" is not host[:port]/path`},
		{"registry upper case", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/My-Org/cache" },
			`registry "ghcr.io/My-Org/cache": repository paths must be lower case`},

		// registry-provider: ecr
		{"ecr all set", func(c *Config) {
			c.ECRName, c.ECRAccountID, c.Region = "build-cache/web", "123456789012", "eu-west-1"
			c.RegistryHostname, c.ECRTags = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/", map[string]string{"team": "web"}
		}, ""},
		{"ecr-name", func(c *Config) { c.ECRName = "Build-Cache" },
			`ecr-name "Build-Cache" is not a valid ECR repository name: ECR names are 2 to 256 characters`},
		{"default ECR name", func(c *Config) { c.DefaultName = "build-cache/My-Org/x" },
			`the default repository name "build-cache/My-Org/x" is not a valid ECR repository name: set ecr-name`},
		{"ecr-account-id", func(c *Config) { c.ECRAccountID = "1234" },
			`ecr-account-id "1234" is not an AWS account ID: write the 12 digits`},
		{"region", func(c *Config) { c.Region = "Ireland" }, `region "Ireland" is not an AWS region name: write for example eu-west-1`},
		{"ecr registry-hostname", func(c *Config) { c.RegistryHostname = "host/path" },
			`registry-hostname "host/path" is not host[:port]: write for example 123456789012.dkr.ecr.eu-west-1.amazonaws.com`},
		{"ecr-tags key", func(c *Config) { c.ECRTags = map[string]string{long: "x"} },
			`ecr-tags entry "` + long + `": keys must be 1 to 128 characters and values at most 256`},
		{"ecr-tags value", func(c *Config) { c.ECRTags = map[string]string{"k": strings.Repeat("v", 257)} },
			`ecr-tags entry "k": keys must be 1 to 128 characters`},

		// registry-provider: gcr and artifact-registry
		{"gcr", func(c *Config) { c.RegistryProvider, c.GCPProject = ProviderGCR, "my-project-123" }, ""},
		{"gcr domain-scoped", func(c *Config) { c.RegistryProvider, c.GCPProject = ProviderGCR, "example.com:my-project" }, ""},
		{"gcp-project missing", func(c *Config) { c.RegistryProvider = ProviderGCR },
			"gcp-project is required with registry-provider: gcr: set it to the Google Cloud project ID"},
		{"gcp-project", func(c *Config) { c.RegistryProvider, c.GCPProject = ProviderGCR, "My_Project" },
			`gcp-project "My_Project" is not a Google Cloud project ID: project IDs are 6 to 30`},
		{"gcp-project domain", func(c *Config) { c.RegistryProvider, c.GCPProject = ProviderGCR, "bad_domain:my-project" },
			`gcp-project "bad_domain:my-project" is not a Google Cloud project ID`},
		{"gcr registry-hostname", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname = ProviderGCR, "my-project", "eu.gcr.io/x"
		},
			`registry-hostname "eu.gcr.io/x" is not host[:port]: write only the host, for example gcr.io, eu.gcr.io or europe-west1-docker.pkg.dev`},
		{"gcr image name", func(c *Config) { c.RegistryProvider, c.GCPProject, c.ECRName = ProviderGCR, "my-project", "Cache" },
			`ecr-name "Cache" is not a valid image name: use lower-case letters and digits`},
		{"gcr default name", func(c *Config) { c.RegistryProvider, c.GCPProject, c.DefaultName = ProviderGCR, "my-project", "x//y" },
			`the default image name "x//y" (set ecr-name to choose another) is not a valid image name`},
		{"artifact-registry", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname = ProviderGAR, "my-project", "europe-west1-docker.pkg.dev"
		}, ""},
		{"artifact-registry without host", func(c *Config) { c.RegistryProvider, c.GCPProject = ProviderGAR, "my-project" },
			"registry-hostname is required with registry-provider: artifact-registry: set it to the host of the repository's location"},
		{"artifact-registry bad host", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname = ProviderGAR, "my-project", "a b"
		},
			`registry-hostname "a b" is not host[:port]: write only the host, for example europe-west1-docker.pkg.dev`},
		{"artifact-registry one-part name", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname, c.ECRName = ProviderGAR, "my-project", "europe-west1-docker.pkg.dev", "cache"
		}, `ecr-name "cache" has no repository part: with registry-provider: artifact-registry`},
		{"artifact-registry repository ID", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname, c.ECRName = ProviderGAR, "my-project", "europe-west1-docker.pkg.dev", "1cache/app"
		}, `ecr-name "1cache/app": its first path part "1cache" names the Artifact Registry repository`},

		{"local", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "Anything/Goes" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConfig()
			c.WorkDir = t.TempDir()
			c.Getenv = mapEnv(map[string]string{"X": "x"})
			tt.set(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v", err)
				}
				return
			}
			if !IsConfigError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v\nwant a ConfigError containing %q", err, tt.want)
			}
		})
	}
}

// TestConfigErrorsHideValues: an error about a build arg or the build
// flags names the option and where the problem is, never what was written
// there, which may be a value.
func TestConfigErrorsHideValues(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.BuildArgs = []string{"OK=1", "A B=hunter2"} }, "build-args entry 2 does not start with a valid NAME"},
		{func(c *Config) { c.AdditionalBuildArgs = "--build-arg 'TOKEN=hunter2 x" }, "additional-build-args: the single quote at character 13 is not closed"},
		{func(c *Config) { c.AdditionalBuildArgs = `--label "a=hunter2` }, "additional-build-args: the double quote at character 9 is not closed"},
		{func(c *Config) { c.AdditionalBuildArgs = "--no-cache hunter2" }, "additional-build-args: word 2 is not a --flag"},
		{func(c *Config) { c.AdditionalBuildArgs = "--pull=hunter2" }, `additional-build-args: "--pull" is not supported`},
	} {
		c := NewConfig()
		c.DockerfileInline = "FROM scratch\n"
		tt.set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate() = %v, want %q and no value", err, tt.want)
		}
	}
}
