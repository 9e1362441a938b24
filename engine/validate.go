package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// refusedExportVars are names export-env-variable may not take even when
// they pass the positive rule (see exportVarProblem): names that make a
// shell, the dynamic loader, a language runtime, a toolchain, a container
// tool or the CI itself act on the value. A trailing * matches any rest.
// The check ignores case.
var refusedExportVars = []string{
	// The dynamic loader and the C library: image:tag is a path list.
	"LD_*", "DYLD_*", "GCONV_PATH", "GLIBC_TUNABLES", "MALLOC_*", "LOCPATH", "NLSPATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "TZDIR",
	// The shells: startup files, prompts and word splitting run or read it.
	"BASH_ENV", "ENV", "BASH_*", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4",
	"IFS", "CDPATH", "GLOBIGNORE", "SHELL", "ZDOTDIR", "ZSH_*", "FPATH", "INPUTRC", "TERM", "TERMINFO*", "TERMCAP",
	// Where programs, home and config are found: a path inside the checkout.
	"PATH", "HOME", "XDG_*", "TMPDIR", "MANPAGER", "MANPATH", "PAGER", "LESS*", "EDITOR", "VISUAL",
	// Language runtimes and toolchains: preloads, options, wrappers, homes.
	"NODE_*", "NPM_CONFIG_*", "YARN_*", "PYTHON*", "PIP_*", "PERL*", "RUBY*", "GEM_*", "BUNDLE_*",
	"JAVA_*", "_JAVA_OPTIONS", "JDK_*", "CLASSPATH", "MAVEN_*", "GRADLE_*", "RUSTC*", "RUSTFLAGS", "RUSTUP_*", "CARGO_*",
	"GO*", "CC", "CXX", "CFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS",
	// Tools whose config runs commands, TLS trust and proxies.
	"GIT_*", "SSH_*", "SSL_*", "OPENSSL_*", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
	// Cloud and container tools: a variable of theirs naming an image runs it.
	"DOCKER_*", "BUILDKIT_*", "BUILDX_*", "COMPOSE_*", "CONTAINERS_*", "PODMAN_*", "BUILDAH_*", "SINGULARITY*", "APPTAINER*",
	"TESTCONTAINERS_*", "KUBE*", "HELM_*", "AWS_*", "GOOGLE_*", "CLOUDSDK_*",
	// The CIs' own variables.
	"GITHUB_*", "RUNNER_*", "ACTIONS_*", "CI", "GITLAB_*", "CI_*",
	"BUILDKITE_*",
}

// pluginOption reports whether name is another Buildkite plugin's option,
// BUILDKITE_PLUGIN_<NAME>_<OPTION>: what the option is for in the original
// plugin. This tool's own variables and the agent's are not.
func pluginOption(name string) bool {
	switch {
	case strings.HasPrefix(name, "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_"), name == "BUILDKITE_PLUGIN_CONFIGURATION", name == "BUILDKITE_PLUGIN_NAME":
		return false
	}
	return strings.HasPrefix(name, "BUILDKITE_PLUGIN_")
}

// exportVarProblem checks export-env-variable. Its value, image:tag, is
// partly the pull request's (a repository name, a key it can compute in
// advance), and read as a path it names a file in the checkout. So the
// rule is positive: the name is one a consumer of an image reference
// reads (it holds IMAGE, or it is another plugin's option), and it is not
// one a loader, shell, toolchain, tool or CI reads for its own.
func (c *Config) exportVarProblem() error {
	name := c.ExportEnvVariable
	if !envName().MatchString(name) {
		return fmt.Errorf("export-env-variable %q is not a valid variable name: use letters, digits and underscores", name)
	}
	upper := strings.ToUpper(name)
	for _, o := range (Result{}).Exports("") {
		if upper == o.Name && upper != DefaultImageVar {
			return fmt.Errorf("export-env-variable %q is refused: it is one of this tool's own variables: choose another name, for example BUILD_IMAGE", name)
		}
	}
	if upper == DefaultImageVar || pluginOption(upper) {
		return nil
	}
	if !strings.Contains(upper, "IMAGE") {
		return fmt.Errorf("export-env-variable %q is refused: the variable receives the image reference, so its name must say so: "+
			"use a name that contains IMAGE (for example BUILD_IMAGE), or another Buildkite plugin's option "+
			"(BUILDKITE_PLUGIN_<NAME>_<OPTION>); names that programs read for their own settings are never taken", name)
	}
	for _, pattern := range refusedExportVars {
		prefix, wildcard := strings.CutSuffix(pattern, "*")
		if upper == pattern || wildcard && strings.HasPrefix(upper, prefix) {
			return fmt.Errorf("export-env-variable %q is refused: %s variables change what the shell, the loader, a toolchain, a tool or the CI does, "+
				"and the image reference must not reach them; choose a name of your own that contains IMAGE, for example BUILD_IMAGE", name, pattern)
		}
	}
	return nil
}

// redactUserinfo replaces the user:password@ of a registry as users wrote
// it with ***@, so that an error never shows the password.
func redactUserinfo(s string) string {
	rest := s
	scheme := ""
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i+3], rest[i+3:]
	}
	host, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndex(host, "@")
	if at < 0 {
		return s
	}
	out := scheme + "***@" + host[at+1:]
	if hasPath {
		out += "/" + path
	}
	return out
}

// hasUserinfo reports whether a registry or host as users wrote it holds
// user[:password]@.
func hasUserinfo(s string) bool { return redactUserinfo(s) != s }

// imageName is the image name (without a tag) as far as the options give
// it before the provider runs, and the options that fix it. An ECR name's
// account is known only at run time, so a sample account stands for it.
func (c *Config) imageName() (name, options string) {
	host := StripScheme(strings.TrimSpace(c.RegistryHostname))
	switch c.RegistryProvider {
	case ProviderECR:
		if host == "" {
			host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
		}
		return host + "/" + c.RepositoryName(), "ecr-name or registry-hostname"
	case ProviderGCR, ProviderGAR:
		if host == "" {
			host = "gcr.io"
		}
		return host + "/" + strings.Replace(c.GCPProject, ":", "/", 1) + "/" + c.RepositoryName(), "gcp-project, registry-hostname or ecr-name"
	case ProviderRegistry, ProviderGHCR:
		return StripScheme(strings.TrimSpace(c.Registry)), "registry"
	case ProviderACR:
		return host + "/" + c.RepositoryName(), "registry-hostname or ecr-name"
	case ProviderBuildkite:
		host, path := c.BuildkiteRegistryPath()
		return host + "/" + path + "/" + c.RepositoryName(), "buildkite-organization, buildkite-registry, registry-hostname or ecr-name"
	default:
		return c.RepositoryName(), "ecr-name"
	}
}

// referenceProblem checks that the image name and its key and latest
// references parse as the Docker daemon and registries will parse them.
func (c *Config) referenceProblem() error {
	name, options := c.imageName()
	for _, ref := range []string{name, name + ":latest", name + ":" + strings.Repeat("0", key.Length)} {
		named, err := reference.ParseNormalizedNamed(ref)
		switch {
		case err != nil:
		case ref == name && !reference.IsNameOnly(named):
			err = errors.New("it holds a tag or digest")
		default:
			continue
		}
		return fmt.Errorf("the image name %q is not a valid image reference (%v): fix %s; "+
			"use lower-case letters, digits and . _ - separated by /, with no spaces, quotes or other signs", redactUserinfo(name), err, options)
	}
	return nil
}

// ValidateReference checks a reference made at run time, from a name the
// provider completed: a bad one is the configuration's fault.
func ValidateReference(ref string) error {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return Configf("the image reference %q is not valid (%v): fix ecr-name or the registry options", redactUserinfo(ref), err)
	}
	return nil
}

// localPrefixProblem checks that the local provider writes only under the
// prefix it owns: the name is the prefix or lies below it.
func (c *Config) localPrefixProblem() error {
	prefix := strings.TrimSuffix(strings.TrimSpace(c.LocalPrefix), "/")
	if prefix == "" {
		return fmt.Errorf("local-prefix is empty: give the image name or namespace the local provider may write, for example build-cache/")
	}
	if _, err := reference.ParseNormalizedNamed(prefix); err != nil {
		return fmt.Errorf("local-prefix %q is not a valid image name (%v): write for example build-cache/", c.LocalPrefix, err)
	}
	name := c.RepositoryName()
	if name == prefix || strings.HasPrefix(name, prefix+"/") {
		return nil
	}
	what := fmt.Sprintf("ecr-name %q", name)
	if c.ECRName == "" {
		what = fmt.Sprintf("the default image name %q", name)
	}
	return fmt.Errorf("%s is not under local-prefix %q: with registry-provider: local, this tool writes only under that prefix, "+
		"so that it never moves an image of the daemon it does not own (such as %s:latest); "+
		"use a name under it (%s/NAME), or set local-prefix to a name you give to this tool", what, c.LocalPrefix, name, prefix)
}
