package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// refusedExportVars are the names export-env-variable may not take: the
// value, image:tag, is partly the pull request's (the repository name, a
// key it can compute), and these names make a shell, the dynamic loader, a
// language runtime, git, docker or the CI itself act on it. A trailing *
// matches any rest. The check ignores case.
var refusedExportVars = []string{
	// The dynamic loader: image:tag is a list of paths to preload.
	"LD_*", "DYLD_*",
	// The shells: startup files, prompts and word splitting run or read it.
	"BASH_ENV", "ENV", "BASH_*", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4",
	"IFS", "CDPATH", "GLOBIGNORE", "SHELL",
	// Where programs, home and config are found: a path inside the checkout.
	"PATH", "HOME", "XDG_*", "TMPDIR",
	// Language runtimes' own preload and option variables.
	"NODE_OPTIONS", "NODE_PATH", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5LIB", "PERL5OPT", "PERLLIB",
	"RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "NPM_CONFIG_*",
	// Tools whose config files run commands, and TLS trust.
	"GIT_*", "DOCKER_*", "AWS_*", "GOOGLE_*", "CLOUDSDK_*", "KUBECONFIG", "SSH_*", "SSL_*", "CURL_CA_BUNDLE",
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "LESSOPEN", "PAGER", "EDITOR", "VISUAL",
	// The CIs' own variables.
	"GITHUB_*", "RUNNER_*", "ACTIONS_*", "CI", "GITLAB_*", "CI_*",
	"BUILDKITE_*",
}

// allowedExportVar reports the exceptions to refusedExportVars: the
// default, and another Buildkite plugin's options
// (BUILDKITE_PLUGIN_<NAME>_<OPTION>), which is what the option is for.
// This tool's own variables and the agent's plugin variables stay refused.
func allowedExportVar(name string) bool {
	switch {
	case name == DefaultImageVar:
		return true
	case strings.HasPrefix(name, "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_"), name == "BUILDKITE_PLUGIN_CONFIGURATION", name == "BUILDKITE_PLUGIN_NAME":
		return false
	}
	return strings.HasPrefix(name, "BUILDKITE_PLUGIN_")
}

// exportVarProblem checks export-env-variable.
func (c *Config) exportVarProblem() error {
	name := c.ExportEnvVariable
	if !envName.MatchString(name) {
		return fmt.Errorf("export-env-variable %q is not a valid variable name: use letters, digits and underscores", name)
	}
	upper := strings.ToUpper(name)
	if allowedExportVar(upper) {
		return nil
	}
	for _, pattern := range refusedExportVars {
		prefix, wildcard := strings.CutSuffix(pattern, "*")
		if upper == pattern || wildcard && strings.HasPrefix(upper, prefix) {
			return fmt.Errorf("export-env-variable %q is refused: %s variables change what the shell, the loader, a tool or the CI does, "+
				"and the image reference must not reach them; choose a name of your own, for example BUILD_IMAGE", name, pattern)
		}
	}
	for _, o := range (Result{}).Exports("") {
		if upper == o.Name {
			return fmt.Errorf("export-env-variable %q is one of this tool's own variables: choose another name", name)
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
	for _, ref := range []string{name, name + ":latest", name + ":" + strings.Repeat("0", KeyLength)} {
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
