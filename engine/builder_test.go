package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

const buildkitHost = "tcp://buildkitd:1234"

// bkRig is a rig whose plan names a BuildKit host, served by a fake
// Builder that pushes into the rig's registry.
func bkRig(t *testing.T, set func(*engine.Config)) (*rig, *fake.Builder) {
	t.Helper()
	r := newRig(t, func(c *engine.Config) {
		c.BuildKitHost = buildkitHost
		if set != nil {
			set(c)
		}
	})
	return r, &fake.Builder{Registry: r.reg}
}

func (r *rig) runWith(t *testing.T, b engine.Builder) (engine.Result, error) {
	t.Helper()
	plan, err := r.cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	e := engine.Engine{Plan: plan, Registry: r.reg, Docker: r.dock, Reporter: r.log, Builder: b}
	return e.Run(t.Context())
}

// registryCalls are the registry's calls but the lookups' and Repository.
func registryCalls(r *rig) []string {
	return slices.DeleteFunc(r.reg.Called(), func(s string) bool {
		return s == "Repository" || strings.HasPrefix(s, "Lookup ") || strings.HasPrefix(s, "Labels ")
	})
}

// TestRunBuildKit runs misses through a BuildKit host: it pushes the key
// tag itself, so the daemon neither builds nor pushes; latest moves in the
// registry only after the key tag is stored; the job's daemon pulls the
// image unless skip-pull-from-cache is set.
func TestRunBuildKit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		set       func(*engine.Config)
		before    func(r *rig)
		pulled    bool
		docker    []string // the daemon's calls, REF for the key's reference
		registry  []string // the registry's calls but lookups
		cacheTo   string
		cacheFrom []string
	}{
		{
			name:     "miss: the builder pushes the key tag, latest moves after it, the daemon pulls",
			pulled:   true,
			docker:   []string{"Inspect REF", "Pull " + repo + "@" + fake.BuilderDigest(1), "Tag " + repo + "@" + fake.BuilderDigest(1) + " REF", "Inspect REF"},
			registry: []string{"Auth", "Prepare", "ListTags", "Put KEY", "Auth", "Tag KEY latest", "Put latest"},
			cacheTo:  repo + ":buildcache",
		},
		{
			name:     "skip-pull-from-cache: nothing is pulled",
			set:      func(c *engine.Config) { c.SkipPullFromCache = true },
			docker:   []string{"Inspect REF"},
			registry: []string{"Auth", "Prepare", "ListTags", "Put KEY", "Auth", "Tag KEY latest", "Put latest"},
			cacheTo:  repo + ":buildcache",
		},
		{
			name:     "without push-latest, latest stays",
			set:      func(c *engine.Config) { c.PushLatest, c.SkipPullFromCache = false, true },
			docker:   []string{"Inspect REF"},
			registry: []string{"Auth", "Prepare", "ListTags", "Put KEY", "Auth"},
			cacheTo:  repo + ":buildcache",
		},
		{
			name: "cache-to and cache-from, with latest in the registry",
			set: func(c *engine.Config) {
				c.CacheTo, c.CacheFrom = "127.0.0.1:5000/shared/cache:web", []string{"127.0.0.1:5000/shared/cache:main"}
			},
			before:    func(r *rig) { r.store("latest", nil, time.Hour) },
			pulled:    true,
			cacheTo:   "127.0.0.1:5000/shared/cache:web",
			cacheFrom: []string{repo + ":latest", "127.0.0.1:5000/shared/cache:main"},
		},
		{
			name: "no-cache: nothing is read, the full cache is still written",
			set: func(c *engine.Config) {
				c.AdditionalBuildArgs, c.CacheFrom = "--no-cache", []string{"127.0.0.1:5000/x:y"}
			},
			before:  func(r *rig) { r.store("latest", nil, time.Hour) },
			pulled:  true,
			cacheTo: repo + ":buildcache",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, b := bkRig(t, tt.set)
			if tt.before != nil {
				tt.before(r)
			}
			res, err := r.runWith(t, b)
			if err != nil {
				t.Fatalf("Run: %v\nlog:\n%s", err, r.log.Log())
			}
			sub := func(l []string) []string {
				out := make([]string, len(l))
				for i, s := range l {
					out[i] = strings.NewReplacer("REF", r.ref, "KEY", r.key.Tag).Replace(s)
				}
				return out
			}
			if res.CacheHit || !res.Built || !res.Pushed || res.Pulled != tt.pulled {
				t.Errorf("hit %v built %v pushed %v pulled %v; want a miss built and pushed, pulled %v", res.CacheHit, res.Built, res.Pushed, res.Pulled, tt.pulled)
			}
			if stored := r.reg.Tags[r.key.Tag].Digest; res.Digest != stored || stored != fake.BuilderDigest(1) {
				t.Errorf("digest %s, want the builder's %s", res.Digest, stored)
			}
			calls := slices.DeleteFunc(r.dock.Called(), func(s string) bool { return s == "Platform" })
			if tt.docker != nil && !slices.Equal(calls, sub(tt.docker)) {
				t.Errorf("docker calls:\n got %q\nwant %q", calls, sub(tt.docker))
			}
			for _, c := range calls {
				if strings.HasPrefix(c, "Build") || strings.HasPrefix(c, "Push") || strings.HasPrefix(c, "Tag") && !strings.HasPrefix(c, "Tag "+r.reg.Repo+"@") {
					t.Errorf("the daemon was asked to %s", c)
				}
			}
			if got := registryCalls(r); tt.registry != nil && !slices.Equal(got, sub(tt.registry)) {
				t.Errorf("registry calls:\n got %q\nwant %q", got, sub(tt.registry))
			}
			if got := b.Called(); !slices.Equal(got, sub([]string{"Build REF"})) {
				t.Errorf("builder calls %q, want one build", got)
			}
			if len(b.Specs) != 1 {
				t.Fatalf("%d builds", len(b.Specs))
			}
			spec := b.Specs[0]
			if !slices.Equal(spec.Tags, []string{r.ref}) {
				t.Errorf("the builder pushes %q, want the key tag alone", spec.Tags)
			}
			if spec.CacheTo != tt.cacheTo || !slices.Equal(spec.CacheFrom, tt.cacheFrom) {
				t.Errorf("cache to %q from %q; want to %q from %q", spec.CacheTo, spec.CacheFrom, tt.cacheTo, tt.cacheFrom)
			}
			if spec.Platform != "linux/amd64" {
				t.Errorf("platform %q, want the hashed one (the job's daemon's)", spec.Platform)
			}
			if spec.Labels[engine.LabelKey] != r.key.Tag || r.reg.Tags[r.key.Tag].Labels[engine.LabelKey] != r.key.Tag {
				t.Errorf("labels %v", spec.Labels)
			}
			if latest, ok := r.reg.Tags["latest"]; r.cfg.PushLatest && latest.Digest != res.Digest || !r.cfg.PushLatest && ok {
				t.Errorf("latest is %+v (present %v), push-latest %v", latest, ok, r.cfg.PushLatest)
			}
		})
	}
}

// TestRunBuildKitFailures: a failed build pushes nothing and leaves latest
// where it was; a failure after the push names what failed.
func TestRunBuildKitFailures(t *testing.T) {
	t.Parallel()
	errBuild := errors.New("process did not complete successfully: exit code: 1")
	tests := []struct {
		name       string
		fail       func(r *rig, b *fake.Builder)
		want       string
		cause      error
		keyStored  bool
		latestKept bool
	}{
		{name: "build fails: nothing pushed, latest unchanged", fail: func(_ *rig, b *fake.Builder) { b.Fail = map[string]error{"Build REF": errBuild} },
			want: "building REF: process did not complete", cause: errBuild, latestKept: true},
		{name: "credential after the build fails: latest unchanged", fail: func(r *rig, _ *fake.Builder) { r.reg.Fail = map[string]error{"Auth #2": errDenied} },
			want: "getting credentials for " + repo + ": DENIED", cause: errDenied, keyStored: true, latestKept: true},
		{name: "prepare fails: no build", fail: func(r *rig, _ *fake.Builder) { r.reg.Fail = map[string]error{"Prepare": errDenied} },
			want: "preparing " + repo + ": DENIED", cause: errDenied, latestKept: true},
		{name: "moving latest fails: latest unchanged", fail: func(r *rig, _ *fake.Builder) { r.reg.Fail = map[string]error{"Tag KEY latest": errServer} },
			want: "moving " + repo + ":latest to REF: HTTP 503", cause: errServer, keyStored: true, latestKept: true},
		{name: "pull after the push fails", fail: func(r *rig, _ *fake.Builder) {
			r.dock.Fail = map[string]error{"Pull " + repo + "@" + fake.BuilderDigest(1): errDaemon}
		},
			want: "after the BuildKit host pushed REF: pulling " + repo + "@" + fake.BuilderDigest(1) + ": daemon says no", cause: errDaemon, keyStored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, b := bkRig(t, nil)
			r.store("latest", nil, time.Hour)
			latestBefore := r.reg.Tags["latest"]
			tt.fail(r, b)
			for _, m := range []map[string]error{r.reg.Fail, r.dock.Fail, b.Fail} {
				for k, v := range m {
					if nk := strings.ReplaceAll(strings.ReplaceAll(k, "REF", r.ref), "KEY", r.key.Tag); nk != k {
						delete(m, k)
						m[nk] = v
					}
				}
			}
			_, err := r.runWith(t, b)
			want := strings.ReplaceAll(tt.want, "REF", r.ref)
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, tt.cause) {
				t.Fatalf("error = %v, want one containing %q and wrapping %v", err, want, tt.cause)
			}
			if _, ok := r.reg.Tags[r.key.Tag]; ok != tt.keyStored {
				t.Errorf("key tag stored: %v, want %v", ok, tt.keyStored)
			}
			if tt.latestKept && !reflectEqual(r.reg.Tags["latest"], latestBefore) {
				t.Errorf("latest moved: %+v, was %+v", r.reg.Tags["latest"], latestBefore)
			}
			for _, c := range r.dock.Called() {
				if strings.HasPrefix(c, "Build") || strings.HasPrefix(c, "Push") {
					t.Errorf("the daemon was asked to %s", c)
				}
			}
		})
	}
	t.Run("no builder", func(t *testing.T) {
		t.Parallel()
		r, _ := bkRig(t, nil)
		_, err := r.runWith(t, nil)
		if err == nil || !strings.Contains(err.Error(), "the engine needs a registry, a Docker daemon, a builder and a reporter") || len(r.reg.Called()) > 0 {
			t.Errorf("error = %v, registry calls %q", err, r.reg.Called())
		}
	})
}

// TestRunUnhashedBuildArgs: unhashed build args reach the build with
// either builder, and the key is the one without them.
func TestRunUnhashedBuildArgs(t *testing.T) {
	t.Parallel()
	set := func(c *engine.Config) { c.UnhashedBuildArgs = []string{"BUILD_NUMBER=1234", "BARE_U"} }
	env := func(c *engine.Config) {
		get := c.Getenv
		c.Getenv = func(k string) string {
			if k == "BARE_U" {
				return "from-env"
			}
			return get(k)
		}
	}
	plain := newRig(t, nil)
	for _, bk := range []bool{false, true} {
		r := newRig(t, func(c *engine.Config) {
			set(c)
			env(c)
			if bk {
				c.BuildKitHost = buildkitHost
			}
		})
		var specs *[]engine.BuildSpec
		var err error
		var res engine.Result
		if bk {
			b := &fake.Builder{Registry: r.reg}
			res, err = r.runWith(t, b)
			specs = &b.Specs
		} else {
			res, err = r.run(t)
			specs = &r.dock.Specs
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Key.Tag != plain.key.Tag {
			t.Errorf("buildkit %v: key %s, want %s, the key without unhashed-build-args", bk, res.Key.Tag, plain.key.Tag)
		}
		want := []string{"A=1", "BARE=bare-value", "BUILD_NUMBER=1234", "BARE_U=from-env", "BUILDKIT_INLINE_CACHE=1"}
		if got := (*specs)[0].BuildArgs; !slices.Equal(got, want) {
			t.Errorf("buildkit %v: build args %q, want %q", bk, got, want)
		}
	}
}

// TestRunCacheFromDaemon: with the Docker daemon builder, cache-from refs
// come after latest as layer cache, and there is no registry cache export.
func TestRunCacheFromDaemon(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *engine.Config) { c.CacheFrom = []string{"127.0.0.1:5000/shared/cache:main"} })
	r.store("latest", nil, time.Hour)
	if _, err := r.run(t); err != nil {
		t.Fatal(err)
	}
	spec := r.dock.Specs[0]
	if want := []string{repo + ":latest", "127.0.0.1:5000/shared/cache:main"}; !slices.Equal(spec.CacheFrom, want) || spec.CacheTo != "" {
		t.Errorf("cache from %q to %q, want from %q", spec.CacheFrom, spec.CacheTo, want)
	}
	if !strings.Contains(r.log.Log(), "using 127.0.0.1:5000/shared/cache:main as layer cache") {
		t.Errorf("log:\n%s", r.log.Log())
	}
}
