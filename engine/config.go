// Package engine holds the domain of docker-ecr-cache: the configuration, the
// cache key and the flow that turns a key into a ready image.
package engine

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// Config is every option a front end can set. The names in comments are the
// option names users write, shared by all front ends.
type Config struct {
	Dockerfile          string            // dockerfile
	DockerfileInline    string            // dockerfile-inline
	Context             string            // context
	Target              string            // target
	Platform            string            // platform
	BuildArgs           []string          // build-args
	AdditionalBuildArgs string            // additional-build-args
	CacheOn             []string          // cache-on
	Secrets             []string          // secrets
	ECRName             string            // ecr-name
	ECRTags             map[string]string // ecr-tags
	ECRAccountID        string            // ecr-account-id
	Region              string            // region
	MaxAgeDays          int               // max-age-days
	ExportEnvVariable   string            // export-env-variable
	RegistryProvider    string            // registry-provider
	GCPProject          string            // gcp-project
	RegistryHostname    string            // registry-hostname
	Registry            string            // registry
	SkipPullFromCache   bool              // skip-pull-from-cache
	PushLatest          bool              // push-latest
	AllowEmptyCacheOn   bool              // allow-empty-cache-on
	LocalPrefix         string            // local-prefix
	ReliabilityOptions                    // stall-timeout-build, stall-timeout-pull-push, lock-dir, lock-timeout
	BuildKitHost        string            // buildkit-host
	BuildKitTLSCA       string            // buildkit-tls-ca
	BuildKitTLSCert     string            // buildkit-tls-cert
	BuildKitTLSKey      string            // buildkit-tls-key
	CacheTo             string            // cache-to
	CacheFrom           []string          // cache-from
	UnhashedBuildArgs   []string          // unhashed-build-args
	CacheKey            []string          // cache-key
	BuildkiteOrg        string            // buildkite-organization
	BuildkiteRegistry   string            // buildkite-registry
	Prune               bool              // prune
	KeepLast            int               // keep-last
	Verbose             bool              // verbose
	Save                bool              // save
	Restore             bool              // restore
	FallbackTag         string            // fallback-tag

	// ForkPullRequest: the run is a pull request from a fork, whose
	// credential may not push. The front end decides it from its CI's own
	// facts; a push the registry refuses then hands the image over from
	// this machine with a warning, rather than fail the run.
	ForkPullRequest bool

	// WorkDir is the directory relative paths resolve against: the
	// checkout. Adapters set it; empty means the process's directory.
	WorkDir string
	// DefaultName is the repository name used when ecr-name is empty.
	DefaultName string
	// Getenv reads the environment of the job, for bare build-args and
	// secrets. Adapters set it so that tests can pass a map.
	Getenv func(string) string
}

// Provider names accepted by registry-provider.
const (
	ProviderECR       = "ecr"
	ProviderGCR       = "gcr"
	ProviderGAR       = "artifact-registry"
	ProviderRegistry  = "registry"
	ProviderLocal     = "local"
	ProviderGHCR      = "ghcr"
	ProviderACR       = "acr"
	ProviderBuildkite = "buildkite-packages"
)

// Providers lists the valid registry-provider values.
var Providers = []string{ProviderECR, ProviderGCR, ProviderGAR, ProviderGHCR, ProviderACR, ProviderBuildkite, ProviderRegistry, ProviderLocal}

// DefaultLocalPrefix is the namespace the local provider owns unless
// local-prefix names another.
const DefaultLocalPrefix = "build-cache/"

// NewConfig returns a Config holding the original plugin's defaults.
func NewConfig() Config {
	return Config{
		Dockerfile:        "",
		MaxAgeDays:        30,
		KeepLast:          10,
		ExportEnvVariable: DefaultImageVar,
		RegistryProvider:  ProviderECR,
		PushLatest:        true,
		Save:              true,
		Restore:           true,
		LocalPrefix:       DefaultLocalPrefix,
		DefaultName:       "build-cache/docker-ecr-cache",
	}
}

// ConfigError is a problem with the configuration: the fix is the user's.
type ConfigError struct{ Err error }

// Error is Err's message with every quoted value longer than a few dozen
// bytes shortened (key.Preview): no message grows with the input.
func (e *ConfigError) Error() string {
	return quoted().ReplaceAllStringFunc(e.Err.Error(), func(q string) string {
		if s, err := strconv.Unquote(q); err == nil {
			return key.Preview(s)
		}
		return q
	})
}

func (e *ConfigError) Unwrap() error { return e.Err }

// quoted matches a value quoted as %q quotes it.
var quoted = lazyRegexp(`"(?:[^"\\\n]|\\.)*"`)

// IsConfigError reports whether err is a configuration problem (exit 2).
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// Configf builds a ConfigError.
func Configf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

var envName = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Env reads name from the job's environment (Getenv), or "" without one.
func (c *Config) Env(name string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(name)
}

func (c *Config) dockerfileOption() string {
	if c.Dockerfile == "" {
		return "Dockerfile"
	}
	return c.Dockerfile
}

// DockerfilePath is the Dockerfile's path on disk (unused with dockerfile-inline).
func (c *Config) DockerfilePath() string {
	return c.Path(c.dockerfileOption())
}

// ContextDir is the build context: context, else the Dockerfile's directory,
// else the working directory for dockerfile-inline.
func (c *Config) ContextDir() string {
	switch {
	case c.Context != "":
		return c.Path(c.Context)
	case c.DockerfileInline != "":
		return c.Path(".")
	default:
		return filepath.Dir(c.DockerfilePath())
	}
}

func (c *Config) workDirName() string {
	if c.WorkDir == "" {
		return "the current directory"
	}
	return c.WorkDir
}

// Path resolves p against WorkDir.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) || c.WorkDir == "" {
		return p
	}
	return filepath.Join(c.WorkDir, p)
}

// RepositoryName is ecr-name, or the front end's default.
func (c *Config) RepositoryName() string {
	if c.ECRName != "" {
		return c.ECRName
	}
	return c.DefaultName
}
