package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// Plan is a validated Config, parsed once: the cache key and the build
// both read it, and nothing parses the options again.
type Plan struct {
	// Config is the options as given. Registry providers are built from it.
	Config Config
	// Platform is the platform hashed and built, os/arch[/variant]: the
	// platform option or additional-build-args' --platform. Empty when
	// neither is given: Engine.Run then asks the daemon for its own.
	Platform string
	// Flags is additional-build-args, parsed.
	Flags BuildFlags
	// BuildArgs is build-args then Flags.BuildArgs, each NAME=value, with
	// bare names given their value from the environment.
	BuildArgs []string
	// Secrets are the secrets entries, with file sources made absolute.
	Secrets []Secret
	// Dockerfile is the Dockerfile's absolute path; empty with
	// dockerfile-inline.
	Dockerfile string
	// ContextDir is the build context's absolute path.
	ContextDir string
	// Reliability is the stall and lock settings, parsed.
	Reliability
	// BuildKit is the BuildKit daemon that builds on a miss, its TLS files
	// made absolute; with Addr empty, the job's Docker daemon builds.
	BuildKit BuildKitHost
	// UnhashedBuildArgs are unhashed-build-args, each NAME=value: given to
	// the build after BuildArgs, and kept out of the key.
	UnhashedBuildArgs []string
}

// tagName is the grammar of an image tag.
var tagName = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Validate reports every problem with c at once, each naming the option.
func (c *Config) Validate() error {
	_, err := c.Plan()
	return err
}

// Plan validates c and parses it into the plan that the key and the build
// read. Every problem is reported at once, each naming the option as users
// write it, so that registry providers need not check the options again.
func (c *Config) Plan() (*Plan, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Dockerfile != "" && c.DockerfileInline != "" {
		add("dockerfile and dockerfile-inline are both set: keep one of them")
	}
	if c.MaxAgeDays < 1 {
		add("max-age-days is %d: give a whole number of days, 1 or more", c.MaxAgeDays)
	}
	if c.KeepLast < 0 {
		add("keep-last is %d: give a whole number of keys, 0 or more", c.KeepLast)
	}
	if c.FallbackTag != "" && !tagName().MatchString(c.FallbackTag) {
		add("fallback-tag %q is not a tag: use up to 128 letters, digits, _, . and -, not starting with . or -", c.FallbackTag)
	}
	if !c.Save && c.BuildKitHost != "" {
		add("save: false with buildkit-host: the BuildKit host pushes what it builds; build on the Docker daemon, or set save: true")
	}
	if err := c.exportVarProblem(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.registryProblems()...)
	errs = append(errs, c.CheckoutProblems()...)
	for i, a := range c.BuildArgs {
		name, _, _ := strings.Cut(a, "=")
		if !envName().MatchString(name) {
			// The entry is not shown: it may hold a value.
			add("build-args entry %d does not start with a valid NAME: write NAME or NAME=value", i+1)
		}
	}
	p := &Plan{Config: *c}
	for _, s := range c.Secrets {
		sec, err := ParseSecret(s, c.Env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if src := sec.Src; src != "" {
			sec.Src = c.absPath(src)
			if _, err := os.Stat(sec.Src); err != nil {
				add("secrets entry %q: file %s cannot be read (%v): fix src, relative to %s", s, src, err, c.workDirName())
			}
		}
		p.Secrets = append(p.Secrets, sec)
	}
	flags, err := ParseBuildFlags(c.AdditionalBuildArgs)
	if err != nil {
		errs = append(errs, err)
	}
	p.Flags = flags
	errs = append(errs, c.builderProblems(append(slices.Clip(c.BuildArgs), flags.BuildArgs...))...)
	for _, pattern := range c.CacheOn {
		if strings.TrimSpace(pattern) == "" {
			add("cache-on has an empty entry: remove it or give a file or glob")
		}
		if glob, selector, ok := strings.Cut(strings.TrimSpace(pattern), "#"); ok {
			if err := key.CheckSelector(selector); err != nil {
				add("cache-on %q: %v", glob, err)
			}
		}
	}
	switch {
	case c.Platform != "" && !validPlatform(c.Platform):
		add("platform %q is not os/arch[/variant]: write for example linux/amd64", c.Platform)
	case flags.Platform != "" && !validPlatform(flags.Platform):
		add("additional-build-args: --platform %q is not os/arch[/variant]: write for example --platform linux/amd64", flags.Platform)
	case c.Platform != "" && flags.Platform != "" && c.Platform != flags.Platform:
		add("platform is %q but additional-build-args says --platform %s: keep one", c.Platform, flags.Platform)
	case c.Platform != "":
		p.Platform = c.Platform
	default:
		p.Platform = flags.Platform
	}
	errs = append(errs, c.reliability(&p.Reliability)...)
	if len(errs) > 0 {
		return nil, &ConfigError{Err: errors.Join(errs...)}
	}

	for _, a := range append(append([]string(nil), c.BuildArgs...), flags.BuildArgs...) {
		if !strings.Contains(a, "=") {
			a += "=" + c.Env(a)
		}
		p.BuildArgs = append(p.BuildArgs, a)
	}
	if c.DockerfileInline == "" {
		p.Dockerfile = c.absPath(c.DockerfilePath())
	}
	p.ContextDir = c.absPath(c.ContextDir())
	p.BuildKit = c.buildKitHost()
	p.UnhashedBuildArgs = c.unhashedBuildArgs()
	return p, nil
}

// absPath is p resolved against WorkDir, then made absolute.
func (c *Config) absPath(p string) string {
	p = c.Path(p)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func validPlatform(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, s := range parts {
		if s == "" {
			return false
		}
	}
	return true
}

// DefaultPlatform is the platform of this machine, as docker names it. The
// key subcommand, which needs no daemon, hashes it when no platform is
// given; a run asks the daemon instead (Docker.Platform).
func DefaultPlatform() string {
	p := "linux/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		p += "/v7"
	}
	return p
}

// CheckoutProblems lists the dockerfile, context and cache-on entries that
// lead outside the checkout, each naming its option and the fix.
func (c *Config) CheckoutProblems() []error {
	var errs []error
	if c.DockerfileInline == "" {
		if err := key.InCheckout(c.WorkDir, c.dockerfileOption()); err != nil {
			errs = append(errs, fmt.Errorf("dockerfile %q %v: give a path inside %s, or use dockerfile-inline",
				c.dockerfileOption(), err, c.workDirName()))
		}
	}
	if c.Context != "" {
		if err := key.InCheckout(c.WorkDir, c.Context); err != nil {
			errs = append(errs, fmt.Errorf("context %q %v: give a directory inside %s", c.Context, err, c.workDirName()))
		}
	}
	for _, pattern := range c.CacheOn {
		glob, _, _ := strings.Cut(strings.TrimSpace(pattern), "#")
		if err := key.InCheckout(c.WorkDir, glob); err != nil {
			errs = append(errs, fmt.Errorf("cache-on %q %v: hash only files inside %s", pattern, err, c.workDirName()))
		}
	}
	return errs
}
