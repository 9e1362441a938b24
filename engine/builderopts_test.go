package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestBuilderOptionProblems checks the messages of the builder options:
// each names the option and the fix.
func TestBuilderOptionProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(c *Config)
		want string // "" for a valid configuration
	}{
		{"buildkit-host", func(c *Config) { c.BuildKitHost = "tcp://buildkitd:1234" }, ""},
		{"buildkit-host with caches", func(c *Config) {
			c.BuildKitHost, c.CacheTo, c.CacheFrom = "tcp://buildkitd:1234", "ghcr.io/org/cache:bk", []string{"ghcr.io/org/other:buildcache", "127.0.0.1:5000/x:y"}
		}, ""},
		{"cache-from with the Docker daemon", func(c *Config) { c.CacheFrom = []string{"ghcr.io/org/app:latest"} }, ""},
		{"unhashed-build-args", func(c *Config) { c.UnhashedBuildArgs = []string{"BUILD_NUMBER", "STAMP=1"} }, ""},
		{"buildkit-host not an address", func(c *Config) { c.BuildKitHost = "buildkitd:1234" },
			`buildkit-host "buildkitd:1234" is not a BuildKit address: write tcp://host:port`},
		{"buildkit-host without port", func(c *Config) { c.BuildKitHost = "tcp://buildkitd" }, "has no port"},
		{"buildkit TLS without host", func(c *Config) { c.BuildKitTLSCA = "ca.pem" }, "need buildkit-host: set it, or remove them"},
		{"buildkit TLS file missing", func(c *Config) { c.BuildKitHost, c.BuildKitTLSCA = "tcp://b:1", "ca.pem" },
			"buildkit-tls-ca: stat "},
		{"buildkit-host with the local provider", func(c *Config) { c.BuildKitHost, c.RegistryProvider = "tcp://b:1", ProviderLocal },
			"registry-provider local has none: choose another registry-provider, or remove buildkit-host"},
		{"cache-to without buildkit-host", func(c *Config) { c.CacheTo = "ghcr.io/org/cache:bk" },
			`cache-to "ghcr.io/org/cache:bk" needs buildkit-host`},
		{"cache-to without a tag", func(c *Config) { c.BuildKitHost, c.CacheTo = "tcp://b:1", "ghcr.io/org/cache" },
			`cache-to "ghcr.io/org/cache" is not an image reference with a tag: write host/path:tag`},
		{"cache-to upper case", func(c *Config) { c.BuildKitHost, c.CacheTo = "tcp://b:1", "ghcr.io/Org/cache:x" },
			"is not an image reference with a tag"},
		{"cache-from with a digest", func(c *Config) { c.CacheFrom = []string{"ghcr.io/org/c:x@sha256:" + strings.Repeat("a", 64)} },
			`cache-from entry "ghcr.io/org/c:x@sha256:`},
		{"cache-from not a ref", func(c *Config) { c.CacheFrom = []string{"a b"} }, `cache-from entry "a b" is not an image reference`},
		{"unhashed in build-args too", func(c *Config) { c.BuildArgs, c.UnhashedBuildArgs = []string{"STAMP=1"}, []string{"STAMP=2"} },
			"STAMP is in both build-args and unhashed-build-args: keep it in one list"},
		{"unhashed in --build-arg too", func(c *Config) {
			c.AdditionalBuildArgs, c.UnhashedBuildArgs = "--build-arg STAMP=1", []string{"STAMP"}
		}, "STAMP is in both build-args and unhashed-build-args"},
		{"unhashed bad name", func(c *Config) { c.UnhashedBuildArgs = []string{"1X=2"} },
			`unhashed-build-args entry "1X=2" does not start with a valid NAME: write NAME or NAME=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConfig()
			c.WorkDir = t.TempDir()
			c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/org/app"
			tt.set(&c)
			wantValidate(t, c.Validate(), tt.want)
		})
	}
}

// TestPlanBuilder: the plan resolves the TLS files against the checkout
// and gives bare unhashed build args their value from the environment.
func TestPlanBuilder(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, map[string]string{"Dockerfile": "FROM scratch\n", "tls/ca.pem": "x", "tls/cert.pem": "x", "tls/key.pem": "x"})
	c := NewConfig()
	c.WorkDir = dir
	c.RegistryProvider, c.Registry = ProviderRegistry, "ghcr.io/org/app"
	c.BuildKitHost = " tcp://buildkitd:1234 "
	c.BuildKitTLSCA, c.BuildKitTLSCert, c.BuildKitTLSKey = "tls/ca.pem", "tls/cert.pem", filepath.Join(dir, "tls/key.pem")
	c.UnhashedBuildArgs = []string{"BUILD_NUMBER", "STAMP=now"}
	c.Getenv = mapEnv(map[string]string{"BUILD_NUMBER": "42"})
	p, err := c.Plan()
	if err != nil {
		t.Fatal(err)
	}
	want := BuildKitHost{Addr: "tcp://buildkitd:1234", TLSCA: filepath.Join(dir, "tls/ca.pem"),
		TLSCert: filepath.Join(dir, "tls/cert.pem"), TLSKey: filepath.Join(dir, "tls/key.pem")}
	if p.BuildKit != want {
		t.Errorf("buildkit %+v, want %+v", p.BuildKit, want)
	}
	if w := []string{"BUILD_NUMBER=42", "STAMP=now"}; !slices.Equal(p.UnhashedBuildArgs, w) {
		t.Errorf("unhashed build args %q, want %q", p.UnhashedBuildArgs, w)
	}
	if len(p.BuildArgs) != 0 {
		t.Errorf("unhashed build args among the hashed ones: %q", p.BuildArgs)
	}
}

// TestKeyUnchangedByBuilderOptions: the builder options, unhashed build
// args included, never change the key; the golden key test pins the key
// of a configuration without them.
func TestKeyUnchangedByBuilderOptions(t *testing.T) {
	t.Parallel()
	dir := testenv.Tree(t, keyTree())
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := keyConfig(dir, defaultEnv())
	want := mustKey(t, &base)
	for _, set := range []func(c *Config){
		func(c *Config) { c.UnhashedBuildArgs = []string{"BUILD_NUMBER=1"} },
		func(c *Config) { c.UnhashedBuildArgs = []string{"BUILD_NUMBER=2", "STAMP"} },
		func(c *Config) {
			c.BuildKitHost, c.BuildKitTLSCA, c.BuildKitTLSCert, c.BuildKitTLSKey = "tcp://b:1", "ca.pem", "cert.pem", "key.pem"
			c.CacheTo, c.CacheFrom = "ghcr.io/org/cache:bk", []string{"ghcr.io/org/cache:other"}
		},
	} {
		c := keyConfig(dir, map[string]string{"BARE": "from-env", "STAMP": "volatile"})
		set(&c)
		if got := mustKey(t, &c); got.Tag != want.Tag || len(got.Inputs) != len(want.Inputs) {
			t.Errorf("key %s with %d inputs, want %s with %d", got.Tag, len(got.Inputs), want.Tag, len(want.Inputs))
		}
	}
}
