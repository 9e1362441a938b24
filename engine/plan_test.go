package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, map[string]string{"build/Dockerfile": "FROM scratch\n", "npmrc": "x"})
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
	here := rel
	here.Platform = DefaultPlatform()
	if k, err := ComputeKey(context.Background(), &rel); err != nil || k.Tag != mustKey(t, &here).Tag {
		t.Errorf("ComputeKey without a platform: %v, %v; want the key of this machine's %s", k.Inputs, err, DefaultPlatform())
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
			`ecr-tags entry "` + long[:64] + `"… (129 bytes): keys must be 1 to 128 characters and values at most 256`},
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

		// registry-provider: local writes only under local-prefix.
		{"local default name", func(c *Config) { c.RegistryProvider = ProviderLocal }, ""},
		{"local under the prefix", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cache/web" }, ""},
		{"local node", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "node" },
			`ecr-name "node" is not under local-prefix "build-cache/": with registry-provider: local, this tool writes only under that prefix, ` +
				`so that it never moves an image of the daemon it does not own (such as node:latest); use a name under it (build-cache/NAME), or set local-prefix`},
		{"local prefix is a path, not a string prefix", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cachex/web" },
			`ecr-name "build-cachex/web" is not under local-prefix`},
		{"local prefix given", func(c *Config) { c.RegistryProvider, c.ECRName, c.LocalPrefix = ProviderLocal, "node", "node" }, ""},
		{"local prefix given with a slash", func(c *Config) { c.RegistryProvider, c.ECRName, c.LocalPrefix = ProviderLocal, "ci/app", "ci/" }, ""},
		{"local default name outside a prefix given", func(c *Config) { c.RegistryProvider, c.LocalPrefix = ProviderLocal, "ci/" },
			`the default image name "build-cache/docker-ecr-cache" is not under local-prefix "ci/"`},
		{"local prefix empty", func(c *Config) { c.RegistryProvider, c.LocalPrefix = ProviderLocal, " " }, "local-prefix is empty: give the image name"},
		{"local prefix invalid", func(c *Config) { c.RegistryProvider, c.LocalPrefix = ProviderLocal, "a b/" }, `local-prefix "a b/" is not a valid image name`},

		// Image references parse as the daemon parses them: exit 2, not 1 at the daemon.
		{"local name with a quote", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, `build-cache/a"b` },
			`the image name "build-cache/a\"b" is not a valid image reference (invalid reference format): fix ecr-name`},
		{"local name with a space", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cache/a b" },
			`the image name "build-cache/a b" is not a valid image reference`},
		{"local name with a pipe", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cache/a|b" },
			`the image name "build-cache/a|b" is not a valid image reference`},
		{"local name upper case", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cache/App" },
			`the image name "build-cache/App" is not a valid image reference (invalid reference format: repository name (build-cache/App) must be lowercase)`},
		{"local name with a tag", func(c *Config) { c.RegistryProvider, c.ECRName = ProviderLocal, "build-cache/app:v1" },
			`the image name "build-cache/app:v1" is not a valid image reference (it holds a tag or digest)`},
		{"registry with a quote", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, `127.0.0.1:5000/a"b` },
			`the image name "127.0.0.1:5000/a\"b" is not a valid image reference (invalid reference format): fix registry`},
		{"registry with a space", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/a b" },
			`the image name "ghcr.io/a b" is not a valid image reference`},
		{"registry with a pipe", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/a|b" },
			`the image name "ghcr.io/a|b" is not a valid image reference`},
		{"registry with a tag", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/a/b:v1" },
			`is not a valid image reference`},
		{"ecr registry-hostname starting with a hyphen", func(c *Config) { c.RegistryHostname = "-bad.example.com" },
			`the image name "-bad.example.com/build-cache/docker-ecr-cache" is not a valid image reference (invalid reference format): fix ecr-name or registry-hostname`},

		// Credentials have no place in the options.
		{"registry with credentials", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "bob:S3cret@127.0.0.1:1/x" },
			`registry "***@127.0.0.1:1/x" holds a user name or password: remove the part before @ and give the credential in ` +
				`DOCKER_ECR_CACHE_REGISTRY_USERNAME and DOCKER_ECR_CACHE_REGISTRY_PASSWORD`},
		{"registry URL with credentials", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "https://bob:S3cret@ghcr.io/x" },
			`registry "https://***@ghcr.io/x" holds a user name or password`},
		{"registry-hostname with credentials", func(c *Config) { c.RegistryHostname = "bob:S3cret@123456789012.dkr.ecr.eu-west-1.amazonaws.com" },
			`registry-hostname "***@123456789012.dkr.ecr.eu-west-1.amazonaws.com" holds a user name or password: write only the host`},

		// Ports and IPv6 literals are checked when the plan is made.
		{"registry port too large", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "127.0.0.1:99999/x" },
			`registry "127.0.0.1:99999/x": port 99999 is not a port number: use 1 to 65535`},
		{"registry port 0", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "127.0.0.1:0/x" },
			`registry "127.0.0.1:0/x": port 0 is not a port number: use 1 to 65535`},
		{"registry port 65535", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "127.0.0.1:65535/x" }, ""},
		{"registry IPv6", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "[::1]:5000/x" },
			`registry "[::1]:5000/x" names an IPv6 address, which the Docker daemon does not take in an image name: use a host name, for example localhost:5000, or an IPv4 address`},
		{"registry-hostname port", func(c *Config) { c.RegistryHostname = "123456789012.dkr.ecr.eu-west-1.amazonaws.com:70000" },
			`registry-hostname "123456789012.dkr.ecr.eu-west-1.amazonaws.com:70000": port 70000 is not a port number`},
		{"registry-hostname IPv6", func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname = ProviderGCR, "my-project", "[::1]:5000"
		},
			`registry-hostname "[::1]:5000" names an IPv6 address`},
		{"buildkit-host with credentials", func(c *Config) { c.BuildKitHost = "tcp://u:password@buildkitd:1234" },
			`buildkit-host "tcp://***@buildkitd:1234" holds a user name or password: the BuildKit host takes TLS client certificates (buildkit-tls-cert, buildkit-tls-key), not a password in its address`},
		{"buildkit-host with credentials, no port", func(c *Config) { c.BuildKitHost = "tcp://u:password@host" },
			`buildkit-host "tcp://***@host" holds a user name or password`},
		{"buildkit-host port", func(c *Config) { c.BuildKitHost = "tcp://buildkitd:99999" },
			`buildkit-host "tcp://buildkitd:99999": port 99999 is not a port number: use 1 to 65535`},
		{"buildkit-host port 0", func(c *Config) { c.BuildKitHost = "tcp://buildkitd:0" }, `port 0 is not a port number`},
		{"buildkit-host IPv6", func(c *Config) { c.BuildKitHost = "tcp://[::1]:1234" }, ""},

		// export-env-variable takes a name a consumer of an image reference
		// reads, and none that the loader, the shell, the tools or the CI read.
		{"export default", func(c *Config) { c.ExportEnvVariable = DefaultImageVar }, ""},
		{"export own name", func(c *Config) { c.ExportEnvVariable = "BUILD_IMAGE" }, ""},
		{"export lower case", func(c *Config) { c.ExportEnvVariable = "base_image" }, ""},
		{"export to another plugin", func(c *Config) { c.ExportEnvVariable = "BUILDKITE_PLUGIN_MY_CUSTOM_PLUGIN_CACHE_IMAGE" }, ""},
		{"export to another plugin's option", func(c *Config) { c.ExportEnvVariable = "BUILDKITE_PLUGIN_ECS_DEPLOY_TASK" }, ""},
		{"export GCONV_PATH", func(c *Config) { c.ExportEnvVariable = "GCONV_PATH" },
			`export-env-variable "GCONV_PATH" is refused: the variable receives the image reference, so its name must say so: ` +
				`use a name that contains IMAGE (for example BUILD_IMAGE), or another Buildkite plugin's option (BUILDKITE_PLUGIN_<NAME>_<OPTION>)`},
		{"export LD_PRELOAD", func(c *Config) { c.ExportEnvVariable = "LD_PRELOAD" }, `export-env-variable "LD_PRELOAD" is refused: the variable receives the image reference`},
		{"export LD_ with IMAGE", func(c *Config) { c.ExportEnvVariable = "LD_PRELOAD_IMAGE" },
			`export-env-variable "LD_PRELOAD_IMAGE" is refused: LD_* variables change what the shell, the loader, a toolchain, a tool or the CI does, ` +
				`and the image reference must not reach them; choose a name of your own that contains IMAGE, for example BUILD_IMAGE`},
		{"export testcontainers", func(c *Config) { c.ExportEnvVariable = "TESTCONTAINERS_RYUK_CONTAINER_IMAGE" }, `is refused: TESTCONTAINERS_* variables`},
		{"export docker", func(c *Config) { c.ExportEnvVariable = "docker_image" }, `is refused: DOCKER_* variables`},
		{"export path lower case", func(c *Config) { c.ExportEnvVariable = "path" }, `export-env-variable "path" is refused`},
		{"export invalid", func(c *Config) { c.ExportEnvVariable = "A-B" }, `export-env-variable "A-B" is not a valid variable name`},
		{"export own variable", func(c *Config) { c.ExportEnvVariable = ExportImage }, `export-env-variable "` + ExportImage + `" is refused: it is one of this tool's own variables`},
		{"export plugin configuration", func(c *Config) { c.ExportEnvVariable = "BUILDKITE_PLUGIN_CONFIGURATION" }, `is refused`},
		{"export agent image", func(c *Config) { c.ExportEnvVariable = "BUILDKITE_AGENT_IMAGE" }, `is refused: BUILDKITE_* variables`},
	}
	// The names of the issue that were exploited or accepted, and the
	// earlier deny-list's.
	for _, name := range []string{"GCONV_PATH", "OPENSSL_CONF", "LOCPATH", "ZDOTDIR", "MANPAGER", "RUSTC_WRAPPER", "CARGO_HOME",
		"NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "GLIBC_TUNABLES", "HOSTALIASES", "TERMINFO",
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV", "PATH", "PROMPT_COMMAND", "SHELLOPTS",
		"BASHOPTS", "IFS", "PS4", "HOME", "BUILDKITE_COMMAND", "BUILDKITE_AGENT_ACCESS_TOKEN", "GITHUB_ENV", "GITHUB_PATH", "RUNNER_TEMP",
		"ACTIONS_RUNTIME_TOKEN", "NODE_OPTIONS", "DYLD_INSERT_LIBRARIES", "GIT_CONFIG_GLOBAL", "DOCKER_CONFIG", "DOCKER_HOST",
		"DOCKER_ECR_CACHE_REGISTRY", "AWS_CONFIG_FILE", "PYTHONPATH", "XDG_CONFIG_HOME", "SSL_CERT_FILE", ExportImage, ExportTag,
		ExportCacheHit, ExportDigest,
		"OPENSSL_CONF_IMAGE", "CARGO_IMAGE", "NODE_IMAGE", "GOFLAGS_IMAGE", "KUBE_IMAGE", "GITHUB_IMAGE"} {
		tests = append(tests, struct {
			name string
			set  func(c *Config)
			want string
		}{"export " + name, func(c *Config) { c.ExportEnvVariable = name }, `export-env-variable "` + name + `" is refused`})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConfig()
			c.WorkDir = t.TempDir()
			c.Getenv = mapEnv(map[string]string{"X": "x"})
			tt.set(&c)
			wantValidate(t, c.Validate(), tt.want)
		})
	}
}

// TestPlanRegistryPasswordNotEchoed: a registry written with a password is
// refused, and no message shows the password, whatever else is wrong.
func TestPlanRegistryPasswordNotEchoed(t *testing.T) {
	t.Parallel()
	for _, set := range []func(c *Config){
		func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "bob:S3cret@127.0.0.1:1/x" },
		func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "bob:S3cret@127.0.0.1:1/X Y" },
		func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, "http://bob:S3cret@127.0.0.1:1" },
		func(c *Config) { c.RegistryHostname = "bob:S3cret@host/x" },
		func(c *Config) {
			c.RegistryProvider, c.GCPProject, c.RegistryHostname = ProviderGAR, "my-project", "bob:S3cret@x y"
		},
		func(c *Config) { c.BuildKitHost = "tcp://u:S3cret@buildkitd:1234" },
		func(c *Config) { c.BuildKitHost = "tcp://u:S3cret@buildkitd" },
		func(c *Config) { c.BuildKitHost = "docker-container://u:S3cret@" },
		func(c *Config) { c.BuildKitHost, c.BuildKitTLSCA = "tcp://u:S3cret@b:99999", "missing.pem" },
	} {
		c := NewConfig()
		c.WorkDir = t.TempDir()
		set(&c)
		err := c.Validate()
		if !IsConfigError(err) || !strings.Contains(err.Error(), "holds a user name or password") {
			t.Errorf("Validate() = %v, want a ConfigError about the credential", err)
			continue
		}
		if strings.Contains(err.Error(), "S3cret") {
			t.Errorf("the password is echoed: %v", err)
		}
	}
}

// TestPlanCheckout: the Dockerfile and the context lie inside the
// checkout, symlinks resolved.
func TestPlanCheckout(t *testing.T) {
	t.Parallel()
	outside := testenv.Tree(t, map[string]string{"Dockerfile": "FROM scratch\n", "ctx/f": "x"})
	tests := []struct {
		name  string
		files map[string]string
		links map[string]string // name in the checkout -> target (OUT for the outside directory)
		set   func(c *Config, dir string)
		want  string // "" for valid
	}{
		{name: "default", set: func(c *Config, dir string) {}},
		{name: "relative inside", files: map[string]string{"build/Dockerfile": "FROM scratch\n"},
			set: func(c *Config, dir string) { c.Dockerfile, c.Context = "build/Dockerfile", "build/.." }},
		{name: "absolute inside", files: map[string]string{"build/Dockerfile": "FROM scratch\n"},
			set: func(c *Config, dir string) { c.Dockerfile, c.Context = filepath.Join(dir, "build/Dockerfile"), dir }},
		{name: "symlink inside to inside", files: map[string]string{"build/Dockerfile": "FROM scratch\n"},
			links: map[string]string{"Dockerfile.ci": "build/Dockerfile"},
			set:   func(c *Config, dir string) { c.Dockerfile = "Dockerfile.ci" }},
		{name: "dotdot dockerfile",
			set:  func(c *Config, dir string) { c.Dockerfile = "../../../../etc/passwd" },
			want: `dockerfile "../../../../etc/passwd" is outside the checkout DIR: give a path inside DIR, or use dockerfile-inline`},
		{name: "absolute dockerfile outside",
			set:  func(c *Config, dir string) { c.Dockerfile = "/etc/passwd" },
			want: `dockerfile "/etc/passwd" is outside the checkout DIR`},
		{name: "missing dockerfile outside",
			set:  func(c *Config, dir string) { c.Dockerfile = "../nowhere/Dockerfile" },
			want: `dockerfile "../nowhere/Dockerfile" is outside the checkout DIR`},
		{name: "dockerfile symlink leaving",
			links: map[string]string{"Dockerfile": "OUT/Dockerfile"},
			want:  `dockerfile "Dockerfile" is a symlink to "OUT/Dockerfile", which leads outside the checkout DIR`},
		{name: "dockerfile in a symlinked directory leaving",
			links: map[string]string{"sub": "OUT"},
			set:   func(c *Config, dir string) { c.Dockerfile = "sub/Dockerfile" },
			want:  `dockerfile "sub/Dockerfile" goes through sub, a symlink to "OUT" that leads outside the checkout DIR`},
		{name: "context outside",
			set:  func(c *Config, dir string) { c.Context = "../" },
			want: `context "../" is outside the checkout DIR: give a directory inside DIR`},
		{name: "context absolute outside",
			set:  func(c *Config, dir string) { c.Context = "/etc" },
			want: `context "/etc" is outside the checkout DIR`},
		{name: "context symlink leaving",
			links: map[string]string{"ctx": "OUT/ctx"},
			set:   func(c *Config, dir string) { c.Context = "ctx" },
			want:  `context "ctx" is a symlink to "OUT/ctx", which leads outside the checkout DIR`},
		{name: "inline with a context outside",
			set:  func(c *Config, dir string) { c.Dockerfile, c.DockerfileInline, c.Context = "", "FROM scratch\n", "/" },
			want: `context "/" is outside the checkout DIR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"Dockerfile": "FROM scratch\n"}
			if len(tt.links) > 0 {
				delete(files, "Dockerfile")
			}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := testenv.Tree(t, files)
			for name, target := range tt.links {
				if err := os.Symlink(strings.Replace(target, "OUT", outside, 1), filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			c := NewConfig()
			c.WorkDir = dir
			if tt.set != nil {
				tt.set(&c, dir)
			}
			_, err := c.Plan()
			want := strings.NewReplacer("DIR", dir, "OUT", outside).Replace(tt.want)
			switch {
			case want == "" && err != nil:
				t.Errorf("Plan() = %v", err)
			case want != "" && (!IsConfigError(err) || !strings.Contains(err.Error(), want)):
				t.Errorf("Plan() = %v\nwant a ConfigError containing %q", err, want)
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

// wantValidate checks Validate's answer err: nil when want is empty, else
// a ConfigError whose message contains want.
func wantValidate(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate() = %v", err)
	case want != "" && (!IsConfigError(err) || !strings.Contains(err.Error(), want)):
		t.Errorf("Validate() = %v\nwant a ConfigError containing %q", err, want)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := NewConfig()
	c.Dockerfile = "Dockerfile"
	c.DockerfileInline = "FROM scratch"
	c.MaxAgeDays = 0
	c.ExportEnvVariable = "1BAD"
	c.RegistryProvider = "ecrr"
	c.BuildArgs = []string{"1X=2"}
	c.CacheOn = []string{"yarn.lock", "  "}
	c.Platform = "linux"
	c.AdditionalBuildArgs = "--pull"

	err := c.Validate()
	if !IsConfigError(err) {
		t.Fatalf("Validate() = %v, want a ConfigError", err)
	}
	var ce *ConfigError
	errors.As(err, &ce)
	joined, ok := ce.Err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("ConfigError wraps %T, want errors.Join's", ce.Err)
	}
	wants := []string{
		"dockerfile and dockerfile-inline are both set",
		"max-age-days is 0",
		`export-env-variable "1BAD"`,
		`registry-provider "ecrr" is not known`,
		`(did you mean "ecr"?)`,
		`build-args entry 1 does not start with a valid NAME`,
		`additional-build-args: "--pull" is not supported`,
		"cache-on has an empty entry",
		`platform "linux" is not os/arch`,
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() error lacks %q:\n%v", w, err)
		}
	}
	if got := len(joined.Unwrap()); got != 8 {
		t.Errorf("Validate() joined %d errors, want 8:\n%v", got, err)
	}

	ok1 := NewConfig()
	ok1.CacheOn = []string{"yarn.lock"}
	ok1.BuildArgs = []string{"A", "B=1"}
	ok1.Platform = "linux/arm64/v8"
	ok1.AdditionalBuildArgs = "--network host"
	if err := ok1.Validate(); err != nil {
		t.Errorf("valid config: Validate() = %v", err)
	}
	gcr := NewConfig()
	gcr.RegistryProvider = ProviderGCR
	if err := gcr.Validate(); err == nil || !strings.Contains(err.Error(), "gcp-project is required") {
		t.Errorf("gcr without gcp-project: Validate() = %v", err)
	}
}

// An option's value, however long, is quoted short in its error, and the
// error still names the option and the fix.
func TestConfigErrorsQuoteValuesShort(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 100_000)
	tests := []struct {
		name string
		set  func(c *Config)
		want []string
	}{
		{"registry", func(c *Config) { c.RegistryProvider, c.Registry = ProviderRegistry, long },
			[]string{`registry "aaaa`, "(100000 bytes) is not host[:port]/path: write for example"}},
		{"registry-provider", func(c *Config) { c.RegistryProvider = long }, []string{`registry-provider "aaaa`, "is not known: use one of"}},
		{"platform", func(c *Config) { c.Platform = long }, []string{`platform "aaaa`, "(100000 bytes)"}},
		{"export-env-variable", func(c *Config) { c.ExportEnvVariable = strings.ToUpper(long) }, []string{`export-env-variable "AAAA`, "its name must say so"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConfig()
			tt.set(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if len(msg) > 2000 {
				t.Errorf("the error is %d bytes", len(msg))
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}
