package engine

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// builderProblems checks the options that choose and feed the builder:
// buildkit-host and its TLS files, cache-to, cache-from and
// unhashed-build-args. hashed are the build args in the key (build-args,
// then additional-build-args' --build-arg).
func (c *Config) builderProblems(hashed []string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := c.buildKitHost().Check(); err != nil {
		errs = append(errs, err)
	}
	if err := CheckUnhashedBuildArgs(hashed, c.UnhashedBuildArgs); err != nil {
		errs = append(errs, err)
	}
	bk := strings.TrimSpace(c.BuildKitHost) != ""
	if bk && c.RegistryProvider == ProviderLocal {
		add("buildkit-host builds push to a registry, and registry-provider local has none: choose another registry-provider, or remove buildkit-host")
	}
	if c.CacheTo != "" {
		switch {
		case !bk:
			add("cache-to %q needs buildkit-host: the Docker daemon builder keeps only the image's inline cache; set buildkit-host, or remove cache-to", c.CacheTo)
		case !validCacheRef(c.CacheTo):
			add("cache-to %q is not an image reference with a tag: write host/path:tag, for example ghcr.io/my-org/cache:buildcache", c.CacheTo)
		}
	}
	for _, ref := range c.CacheFrom {
		if !validCacheRef(ref) {
			add("cache-from entry %q is not an image reference with a tag: write host/path:tag, for example ghcr.io/my-org/cache:buildcache", ref)
		}
	}
	return errs
}

// validCacheRef reports whether ref names a tag in a registry: cache is
// read from and written to a tag, never a bare name or a digest.
func validCacheRef(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || reference.FamiliarString(named) == "" {
		return false
	}
	_, tagged := named.(reference.NamedTagged)
	_, digested := named.(reference.Digested)
	return tagged && !digested
}

// buildKitHost is the BuildKit host the options name, with the TLS files
// resolved against the checkout.
func (c *Config) buildKitHost() BuildKitHost {
	h := BuildKitHost{Addr: strings.TrimSpace(c.BuildKitHost)}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		return c.absPath(p)
	}
	h.TLSCA, h.TLSCert, h.TLSKey = abs(c.BuildKitTLSCA), abs(c.BuildKitTLSCert), abs(c.BuildKitTLSKey)
	return h
}

// unhashedBuildArgs is unhashed-build-args, each NAME=value, with bare
// names given their value from the environment.
func (c *Config) unhashedBuildArgs() []string {
	var out []string
	for _, a := range c.UnhashedBuildArgs {
		if !strings.Contains(a, "=") {
			a += "=" + c.Env(a)
		}
		out = append(out, a)
	}
	return out
}
