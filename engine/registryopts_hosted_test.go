package engine

import (
	"strings"
	"testing"
)

// The options of ghcr, acr and buildkite-packages: a good configuration
// validates to the image name the provider uses; a bad one is a
// configuration error naming the option and the fix.
func TestHostedRegistryOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BUILDKITE_ORGANIZATION_SLUG": "acme"}
	tests := []struct {
		name  string
		set   func(c *Config)
		image string // the image name, when valid
		want  string // a part of the error, when not
	}{
		{"acr", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "myregistry.azurecr.io" },
			"myregistry.azurecr.io/build-cache/app", ""},
		{"acr without host", func(c *Config) { c.RegistryProvider = ProviderACR }, "", "registry-hostname is required with registry-provider: acr"},
		{"acr bad host", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "my registry" }, "", `registry-hostname "my registry" is not host[:port]`},
		{"buildkite", func(c *Config) { c.RegistryProvider, c.BuildkiteRegistry = ProviderBuildkite, "build-cache" },
			"packages.buildkite.com/acme/build-cache/build-cache/app", ""},
		{"buildkite org given", func(c *Config) {
			c.RegistryProvider, c.BuildkiteRegistry, c.BuildkiteOrg, c.RegistryHostname = ProviderBuildkite, "cache", "other", "127.0.0.1:5000"
		}, "127.0.0.1:5000/other/cache/build-cache/app", ""},
		{"buildkite without registry", func(c *Config) { c.RegistryProvider = ProviderBuildkite }, "", "buildkite-registry is required"},
		{"buildkite bad slug", func(c *Config) { c.RegistryProvider, c.BuildkiteRegistry = ProviderBuildkite, "Build_Cache" }, "", `buildkite-registry "Build_Cache" is not a Buildkite slug`},
		{"buildkite without org", func(c *Config) {
			c.RegistryProvider, c.BuildkiteRegistry, c.Getenv = ProviderBuildkite, "cache", func(string) string { return "" }
		}, "", "buildkite-organization is required"},
		{"ghcr", func(c *Config) { c.RegistryProvider, c.Registry = ProviderGHCR, "ghcr.io/my-org/my-repo/build-cache" },
			"ghcr.io/my-org/my-repo/build-cache", ""},
		{"ghcr without registry", func(c *Config) { c.RegistryProvider = ProviderGHCR }, "", "registry is required with registry-provider: ghcr"},
		{"acr not azurecr.io", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "evil.example.com" }, "",
			`registry-hostname "evil.example.com" is not an Azure Container Registry login server`},
		{"acr loopback", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "127.0.0.1:5000" }, "127.0.0.1:5000/build-cache/app", ""},
		{"acr IPv6", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "[::1]:5000" }, "", `registry-hostname "[::1]:5000" names an IPv6 address`},
		{"acr port 0", func(c *Config) { c.RegistryProvider, c.RegistryHostname = ProviderACR, "127.0.0.1:0" }, "", `registry-hostname "127.0.0.1:0": `},
		{"buildkite port out of range", func(c *Config) {
			c.RegistryProvider, c.RegistryHostname, c.BuildkiteRegistry = ProviderBuildkite, "packages.example.com:99999", "cache"
		}, "", `registry-hostname "packages.example.com:99999": `},
		{"ghcr not ghcr.io", func(c *Config) { c.RegistryProvider, c.Registry = ProviderGHCR, "evil.example.com/x/y" }, "", "is not on ghcr.io"},
		{"ghcr enterprise", func(c *Config) {
			c.RegistryProvider, c.Registry = ProviderGHCR, "containers.git.example.com/org/cache"
			c.Getenv = func(k string) string { return map[string]string{"GITHUB_SERVER_URL": "https://git.example.com"}[k] }
		}, "containers.git.example.com/org/cache", ""},
		{"ghcr upper case", func(c *Config) { c.RegistryProvider, c.Registry = ProviderGHCR, "ghcr.io/My-Org/cache" }, "", "must be lower case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewConfig()
			c.ECRName = "build-cache/app"
			c.Getenv = func(k string) string { return env[k] }
			tt.set(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if name, _ := c.imageName(); name != tt.image {
					t.Errorf("image %q, want %q", name, tt.image)
				}
				return
			}
			if err == nil || !IsConfigError(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want a configuration error with %q", err, tt.want)
			}
		})
	}
}
