// Package gitlab is the GitLab CI/CD front end, `docker-ecr-cache gitlab`:
// the generic front end's options (DOCKER_ECR_CACHE_* variables, which the
// component sets from its inputs, and flags), with defaults from the job's
// predefined variables, a log in collapsible sections, and the results as
// a dotenv report for `artifacts: reports: dotenv`.
package gitlab

import (
	"errors"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// Defaults of the settings: the report the component hands to
// `artifacts: reports: dotenv`, and the prefix of its names.
const (
	DefaultReport = "docker-ecr-cache.env"
	DefaultPrefix = env.Prefix
)

// ImageSuffix is the default image's path under CI_REGISTRY_IMAGE.
const ImageSuffix = "/build-cache"

// JobTokenUser is the user name that goes with CI_JOB_TOKEN.
const JobTokenUser = "gitlab-ci-token"

// Load reads the options as the generic front end does, over the job's
// defaults: with CI_REGISTRY and no registry-provider given, the project's
// own container registry, image $CI_REGISTRY_IMAGE/build-cache, with the
// job's credential (CI_REGISTRY_USER and CI_REGISTRY_PASSWORD, else
// gitlab-ci-token and CI_JOB_TOKEN). Explicit options win.
func Load(args []string, e frontend.Env) (engine.Config, env.Settings, error) {
	getenv := e.Getenv
	c := engine.NewConfig()
	c.Getenv, c.WorkDir = getenv, e.Dir
	c.RegistryProvider = "" // given or not: Parse tells
	if p := getenv("CI_PROJECT_PATH"); p != "" {
		c.DefaultName = "build-cache/" + strings.ToLower(p)
	}
	s, err := env.Parse(&c, env.Settings{Output: "dotenv", OutputFile: DefaultReport, OutputPrefix: DefaultPrefix}, args, e)
	errs := []error{err}
	if s.Output != "dotenv" {
		errs = append(errs, engine.Configf("output %q: the gitlab command writes a dotenv report only; use `docker-ecr-cache run --output json` for JSON", s.Output))
	}
	if s.OutputFile == "" {
		errs = append(errs, engine.Configf("output-file is empty: name the dotenv report that `artifacts: reports: dotenv` lists (default %s)", DefaultReport))
	}

	// A merge request from a fork runs in the source project, whose job
	// token may not push to the target's registry.
	src, dst := getenv("CI_MERGE_REQUEST_SOURCE_PROJECT_ID"), getenv("CI_MERGE_REQUEST_PROJECT_ID")
	c.ForkPullRequest = src != "" && dst != "" && src != dst
	registry := engine.StripScheme(getenv("CI_REGISTRY"))
	if c.RegistryProvider == "" {
		if registry == "" {
			errs = append(errs, engine.Configf("CI_REGISTRY is not set (the project's container registry is off), so there is no registry to default to: "+
				"set registry-provider (%s) and its options, or turn the container registry on in the project's settings", strings.Join(engine.Providers, ", ")))
			// Local needs no more options: the others' checks still run.
			c.RegistryProvider = engine.ProviderLocal
		} else {
			c.RegistryProvider = engine.ProviderRegistry
		}
	}
	if c.RegistryProvider == engine.ProviderRegistry && c.Registry == "" {
		if image := getenv("CI_REGISTRY_IMAGE"); image != "" {
			c.Registry = image + ImageSuffix
		}
	}
	if ProjectRegistry(c, registry) {
		c.Getenv = withJobCredential(getenv)
	}
	if err := errors.Join(errs...); err != nil {
		return c, s, &engine.ConfigError{Err: err}
	}
	return c, s, nil
}

// ProjectRegistry reports whether c's images live in the job's registry,
// CI_REGISTRY: only that registry is given the job's credential.
func ProjectRegistry(c engine.Config, registry string) bool {
	host, _, _ := strings.Cut(engine.StripScheme(strings.TrimSpace(c.Registry)), "/")
	return registry != "" && c.RegistryProvider == engine.ProviderRegistry && strings.EqualFold(host, registry)
}

// JobCredential is the job's credential for CI_REGISTRY: CI_REGISTRY_USER
// and CI_REGISTRY_PASSWORD, else gitlab-ci-token and CI_JOB_TOKEN, or
// nothing.
func JobCredential(getenv func(string) string) (user, password string) {
	if u, p := getenv("CI_REGISTRY_USER"), getenv("CI_REGISTRY_PASSWORD"); u != "" && p != "" {
		return u, p
	}
	if t := getenv("CI_JOB_TOKEN"); t != "" {
		return JobTokenUser, t
	}
	return "", ""
}

// withJobCredential is getenv with the job's credential as the registry
// credential variables the registry providers read, unless either is set.
// The engine masks that password as it masks every credential.
func withJobCredential(getenv func(string) string) func(string) string {
	if getenv(oci.EnvUsername) != "" || getenv(oci.EnvPassword) != "" {
		return getenv
	}
	user, password := JobCredential(getenv)
	if password == "" {
		return getenv
	}
	return func(name string) string {
		switch name {
		case oci.EnvUsername:
			return user
		case oci.EnvPassword:
			return password
		}
		return getenv(name)
	}
}

// jobSecrets are the values of the job's credentials, masked before
// anything is written: GitLab masks masked variables in the log, but
// nothing a job prints at run time.
func jobSecrets(getenv func(string) string) []string {
	var out []string
	for _, name := range []string{"CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_JOB_JWT", "CI_JOB_JWT_V2"} {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	return append(out, frontend.EnvSecrets(getenv)...)
}
