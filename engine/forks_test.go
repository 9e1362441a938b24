package engine_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

// errPushDenied is a push the registry refused, as engine/docker marks it.
var errPushDenied = fmt.Errorf("denied: requested access to the resource is denied: %w", engine.ErrDenied)

// keyTag is a tag shaped as a key's, made from s.
func keyTag(s string) string { return fake.Digest(s)[len("sha256:"):][:key.Length] }

// puts lists the tags the registry stored during the run.
func puts(r *rig) []string {
	var out []string
	for _, c := range r.reg.Called() {
		if tag, ok := strings.CutPrefix(c, "Put "); ok {
			out = append(out, tag)
		}
	}
	return out
}

// TestRunStoreBranches covers save, restore, pull requests from forks and
// registries with immutable tags: what is stored, what is handed over,
// what the run says, and that latest never moves where it must not.
func TestRunStoreBranches(t *testing.T) {
	t.Parallel()
	older := []key.Input{{Name: "dockerfile", Digest: "sha256:old"}}
	tests := []struct {
		name   string
		set    func(*engine.Config)
		before func(r *rig)
		// want
		err               string // in the run's error; empty: the run succeeds
		hit, built, push  bool
		puts              []string // the registry's stored tags, in order (KEY for the key)
		latest            string   // latest's digest after the run (OLD: as before; "": absent)
		keyDigest         string   // the key tag's digest after the run (NEW: this run's build; STORED: as before)
		cacheFrom         string   // the build's first layer cache (a tag of repo)
		previous          string   // Result.Previous (a tag of repo)
		log, warn, nowarn []string
	}{
		{
			name:  "save: false builds a miss and pushes nothing",
			set:   func(c *engine.Config) { c.Save = false },
			built: true, puts: []string{}, latest: "",
			log: []string{"save: false: REF is handed over from this machine; nothing is pushed and latest is not moved"},
		},
		{
			name:   "save: false leaves latest where it is",
			set:    func(c *engine.Config) { c.Save = false },
			before: func(r *rig) { r.store("latest", older, time.Hour) },
			built:  true, puts: []string{}, latest: "OLD", cacheFrom: "latest", previous: "latest",
		},
		{
			name:   "save: false hands over an image built here before without a push",
			set:    func(c *engine.Config) { c.Save = false },
			before: func(r *rig) { r.localKey("KEY") },
			hit:    true, puts: []string{},
			log: []string{"save: false, so it is handed over without a push"},
		},
		{
			name:   "save: false still takes a hit",
			set:    func(c *engine.Config) { c.Save = false },
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, time.Hour) },
			hit:    true, puts: []string{}, keyDigest: "STORED",
		},
		{
			name: "restore: false rebuilds a hit and moves the key tag to the new image",
			set:  func(c *engine.Config) { c.Restore = false },
			before: func(r *rig) {
				r.store(r.key.Tag, r.key.Inputs, time.Hour)
				r.store("latest", r.key.Inputs, time.Hour)
				r.reg.Tags["latest"] = fake.Manifest{Digest: stored(r.key.Tag), Labels: r.reg.Tags[r.key.Tag].Labels}
			},
			built: true, push: true, puts: []string{"KEY", "latest"}, keyDigest: "NEW", cacheFrom: "latest",
			log: []string{"restore: false: REF is stored, but is built again and replaces it"},
		},
		{
			name:   "restore: false rebuilds an image built here before",
			set:    func(c *engine.Config) { c.Restore = false },
			before: func(r *rig) { r.localKey("KEY") },
			built:  true, push: true, puts: []string{"KEY", "latest"}, keyDigest: "NEW",
		},
		{
			name: "restore: false and save: false rebuild and store nothing",
			set:  func(c *engine.Config) { c.Restore = false; c.Save = false },
			before: func(r *rig) {
				r.store(r.key.Tag, r.key.Inputs, time.Hour)
			},
			built: true, puts: []string{}, keyDigest: "STORED",
		},
		{
			name: "a fork's refused push hands the image over and warns",
			set:  func(c *engine.Config) { c.ForkPullRequest = true },
			before: func(r *rig) {
				r.store("latest", older, time.Hour)
				r.dock.Fail = map[string]error{"Push " + r.ref: errPushDenied}
			},
			built: true, puts: []string{}, latest: "OLD", cacheFrom: "latest",
			warn: []string{"the registry refused to store REF", "pull request from a fork", "handed over from this machine, and latest is not moved"},
		},
		{
			name: "a refused push outside a fork's pull request fails",
			before: func(r *rig) {
				r.store("latest", older, time.Hour)
				r.dock.Fail = map[string]error{"Push " + r.ref: errPushDenied}
			},
			err: "pushing REF: denied", built: true, puts: []string{}, latest: "OLD", cacheFrom: "latest",
		},
		{
			name:   "a fork's push that fails otherwise still fails",
			set:    func(c *engine.Config) { c.ForkPullRequest = true },
			before: func(r *rig) { r.dock.Fail = map[string]error{"Push " + r.ref: errServer} },
			err:    "pushing REF: HTTP 503", built: true, puts: []string{}, latest: "",
		},
		{
			name: "a fork's refused prepare warns, and the refused push hands over",
			set:  func(c *engine.Config) { c.ForkPullRequest = true },
			before: func(r *rig) {
				r.reg.Fail = map[string]error{"Prepare": errPushDenied}
				r.dock.Fail = map[string]error{"Push " + r.ref: errPushDenied}
			},
			built: true, puts: []string{}, latest: "",
			warn: []string{"preparing " + repo + ": denied", "the registry refused to store REF"},
		},
		{
			name:   "immutable tags: latest that cannot move warns, and the run succeeds",
			before: func(r *rig) { r.reg.Immutable = true; r.store("latest", older, time.Hour) },
			built:  true, push: true, puts: []string{"KEY"}, latest: "OLD", keyDigest: "NEW", cacheFrom: "latest",
			warn: []string{repo + ":latest was not moved", "cannot be overwritten because the repository is immutable"},
		},
		{
			name: "a repository that says latest cannot move: latest is neither pushed nor read first",
			before: func(r *rig) {
				r.reg.Immutable = true
				r.reg.Prepared = engine.Prepared{LatestImmutable: "repository cache/app has IMMUTABLE tag mutability"}
				r.store("latest", older, 5*time.Hour)
				r.store(keyTag("b"), older, time.Hour)
			},
			built: true, push: true, puts: []string{"KEY"}, latest: "OLD", cacheFrom: keyTag("b"), previous: keyTag("b"),
			log:    []string{"IMMUTABLE tag mutability: latest is not pushed", "changed since " + repo + ":" + keyTag("b")},
			nowarn: []string{"was not moved"},
		},
		{
			name: "a repository that says latest cannot move: a first miss does not create latest",
			before: func(r *rig) {
				r.reg.Immutable = true
				r.reg.Prepared = engine.Prepared{LatestImmutable: "repository cache/app has IMMUTABLE tag mutability"}
			},
			built: true, push: true, puts: []string{"KEY"}, latest: "",
			log: []string{"cache miss: no image for key KEY"}, nowarn: []string{"was not moved"},
		},
		{
			name: "immutable tags: restore: false cannot replace the key's image",
			set:  func(c *engine.Config) { c.Restore = false },
			before: func(r *rig) {
				r.reg.Immutable = true
				r.store(r.key.Tag, r.key.Inputs, time.Hour)
			},
			err:   "restore: false: pushing REF: ImageTagAlreadyExistsException",
			built: true, puts: []string{}, keyDigest: "STORED",
		},
		{
			name: "fallback-tag is layer cache and compared with when latest is absent",
			set:  func(c *engine.Config) { c.FallbackTag = "main" },
			before: func(r *rig) {
				r.reg.Immutable = true
				r.store("main", older, time.Hour)
			},
			built: true, push: true, puts: []string{"KEY", "latest"}, cacheFrom: "main", previous: "main",
			log: []string{"changed since " + repo + ":main: additional-build-args (new)", "using " + repo + ":main as layer cache"},
		},
		{
			name: "latest is read before fallback-tag",
			set:  func(c *engine.Config) { c.FallbackTag = "main" },
			before: func(r *rig) {
				r.store("main", older, time.Hour)
				r.store("latest", older, time.Minute)
			},
			built: true, push: true, cacheFrom: "latest", previous: "latest",
		},
		{
			name: "with neither latest nor fallback-tag, the newest key's image is layer cache",
			set:  func(c *engine.Config) { c.FallbackTag = "main"; c.PushLatest = false },
			before: func(r *rig) {
				r.store(keyTag("a"), older, 3*time.Hour)
				r.store(keyTag("b"), older, time.Hour)
				r.store(keyTag("c"), older, 2*time.Hour)
				r.store("not-a-key", older, 0)
			},
			built: true, push: true, cacheFrom: keyTag("b"), previous: keyTag("b"),
			log: []string{"changed since " + repo + ":" + keyTag("b")},
		},
		{
			name: "push-latest: false reads the newest key's image before a latest left behind",
			set:  func(c *engine.Config) { c.PushLatest = false },
			before: func(r *rig) {
				r.store("latest", older, 5*time.Hour)
				r.store(keyTag("a"), older, 3*time.Hour)
				r.store(keyTag("b"), older, time.Hour)
			},
			built: true, push: true, puts: []string{"KEY"}, latest: "OLD", cacheFrom: keyTag("b"), previous: keyTag("b"),
		},
		{
			name: "push-latest: false reads fallback-tag first",
			set:  func(c *engine.Config) { c.PushLatest = false; c.FallbackTag = "release" },
			before: func(r *rig) {
				r.store("latest", older, 5*time.Hour)
				r.store("release", older, 4*time.Hour)
				r.store(keyTag("b"), older, time.Hour)
			},
			built: true, push: true, latest: "OLD", cacheFrom: "release", previous: "release",
		},
		{
			name: "push-latest: false reads latest when nothing else is there",
			set:  func(c *engine.Config) { c.PushLatest = false },
			before: func(r *rig) {
				r.store("latest", older, 5*time.Hour)
			},
			built: true, push: true, latest: "OLD", cacheFrom: "latest", previous: "latest",
		},
		{
			name: "a registry that cannot list: no previous image",
			set:  func(c *engine.Config) { c.PushLatest = false },
			before: func(r *rig) {
				r.reg.NoList = true
				r.store(keyTag("a"), older, time.Hour)
			},
			built: true, push: true,
			log: []string{"cache miss: no image for key KEY"}, nowarn: []string{"could not"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.set)
			if tt.before != nil {
				tt.before(r)
			}
			oldLatest := r.reg.Tags["latest"].Digest
			res, err := r.run(t)
			sub := strings.NewReplacer("REF", r.ref, "KEY", r.key.Tag).Replace
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Run: %v\nlog:\n%s", err, r.log.Log())
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), sub(tt.err))):
				t.Fatalf("error = %v, want one containing %q", err, sub(tt.err))
			}
			if tt.err == "" && (res.CacheHit != tt.hit || res.Built != tt.built || res.Pushed != tt.push) {
				t.Errorf("hit %v built %v pushed %v; want %v %v %v", res.CacheHit, res.Built, res.Pushed, tt.hit, tt.built, tt.push)
			}
			if unstored := tt.err == "" && tt.built && !tt.push; res.Unstored != unstored {
				t.Errorf("Unstored = %v, want %v", res.Unstored, unstored)
			}
			if res.Unstored && !strings.Contains(engine.Summary(res), "not stored") {
				t.Errorf("summary %q", engine.Summary(res))
			}
			if tt.puts != nil {
				want := make([]string, len(tt.puts))
				for i, p := range tt.puts {
					want[i] = sub(p)
				}
				if got := puts(r); !slices.Equal(got, want) {
					t.Errorf("stored tags %q, want %q", got, want)
				}
			}
			switch latest := r.reg.Tags["latest"].Digest; tt.latest {
			case "OLD":
				if latest != oldLatest || latest == "" {
					t.Errorf("latest is %q, want it untouched (%q)", latest, oldLatest)
				}
			case "":
				if tt.puts != nil && !slices.Contains(tt.puts, "latest") && latest != "" {
					t.Errorf("latest is %q, want none", latest)
				}
			}
			keyDigest := r.reg.Tags[r.key.Tag].Digest
			switch tt.keyDigest {
			case "STORED":
				if keyDigest != stored(r.key.Tag) {
					t.Errorf("key tag names %q, want the stored image %q", keyDigest, stored(r.key.Tag))
				}
			case "NEW":
				img := r.dock.Images[r.ref]
				if keyDigest == stored(r.key.Tag) || keyDigest != fake.Digest(img.ID) {
					t.Errorf("key tag names %q, want this run's build %q", keyDigest, fake.Digest(img.ID))
				}
				if tt.err == "" && res.Digest != keyDigest {
					t.Errorf("result digest %q, want %q", res.Digest, keyDigest)
				}
			}
			if tt.built {
				specs := r.dock.Specs
				var from []string
				if len(specs) > 0 {
					from = specs[0].CacheFrom
				}
				switch {
				case tt.cacheFrom == "" && len(from) > 0:
					t.Errorf("layer cache %q, want none", from)
				case tt.cacheFrom != "" && (len(from) == 0 || from[0] != repo+":"+tt.cacheFrom):
					t.Errorf("layer cache %q, want %s:%s", from, repo, tt.cacheFrom)
				}
			}
			if tt.previous != "" && res.Previous != repo+":"+tt.previous {
				t.Errorf("previous %q, want %s:%s", res.Previous, repo, tt.previous)
			}
			log, warnings := r.log.Log(), strings.Join(r.log.Warnings, "\n")
			for _, want := range tt.log {
				if !strings.Contains(log, sub(want)) {
					t.Errorf("log lacks %q:\n%s", sub(want), log)
				}
			}
			for _, want := range tt.warn {
				if !strings.Contains(warnings, sub(want)) {
					t.Errorf("warnings lack %q:\n%s", sub(want), warnings)
				}
			}
			for _, not := range tt.nowarn {
				if strings.Contains(warnings, not) {
					t.Errorf("warnings hold %q:\n%s", not, warnings)
				}
			}
		})
	}
}

// TestRunStoreBranchesBuildKit: a BuildKit host pushed the key tag, and
// the registry refuses to move latest: a warning, not a failure.
func TestRunStoreBranchesBuildKit(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.reg.Immutable = true
	r.store("latest", []key.Input{{Name: "dockerfile", Digest: "sha256:old"}}, time.Hour)
	old := r.reg.Tags["latest"].Digest
	plan, err := r.cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	plan.BuildKit.Addr = "tcp://buildkitd:1234"
	bk := &fake.Builder{Registry: r.reg}
	e := engine.Engine{Plan: plan, Registry: r.reg, Docker: r.dock, Builder: bk, Reporter: r.log}
	if _, err := e.Run(t.Context()); err != nil {
		t.Fatalf("Run: %v\n%s", err, r.log.Log())
	}
	if got := r.reg.Tags["latest"].Digest; got != old {
		t.Errorf("latest moved to %s", got)
	}
	if w := strings.Join(r.log.Warnings, "\n"); !strings.Contains(w, "was not moved") {
		t.Errorf("warnings: %s", w)
	}
}

func TestStoreConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		set  func(*engine.Config)
		want string
	}{
		{func(c *engine.Config) { c.FallbackTag = "-bad" }, `fallback-tag "-bad" is not a tag`},
		{func(c *engine.Config) { c.FallbackTag = "a:b" }, `fallback-tag "a:b" is not a tag`},
		{func(c *engine.Config) { c.Save = false; c.BuildKitHost = "tcp://buildkitd:1234" }, "save: false with buildkit-host"},
	} {
		c := engine.NewConfig()
		c.WorkDir = t.TempDir()
		c.DockerfileInline = "FROM scratch\n"
		c.RegistryProvider = engine.ProviderRegistry
		c.Registry = repo
		tt.set(&c)
		err := c.Validate()
		if !engine.IsConfigError(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate = %v, want a ConfigError containing %q", err, tt.want)
		}
	}
	if !errors.Is(errPushDenied, engine.ErrDenied) {
		t.Fatal("errPushDenied is not ErrDenied")
	}
}

// TestRunBuilderRefused: a BuildKit host whose push of the key tag the
// registry refuses fails the run with a push error naming the fix, not a
// build error pointing at the Dockerfile, and nothing moves.
func TestRunBuilderRefused(t *testing.T) {
	t.Parallel()
	denied := engine.MarkRefusal(errors.New("failed to push REF: unexpected status from PUT request: 403 Forbidden"))
	for _, tt := range []struct {
		name      string
		set       func(*engine.Config)
		immutable bool  // the repository's tags cannot be overwritten
		storeKey  bool  // the key tag is in the registry before the run
		fail      error // what the builder answers, instead of building
		mark      error
		want      string
	}{
		{name: "denied", fail: denied, mark: engine.ErrDenied, want: "give the job a credential that may push to " + repo},
		{name: "denied, a fork's pull request", set: func(c *engine.Config) { c.ForkPullRequest = true }, fail: denied, mark: engine.ErrDenied,
			want: "build pull requests from forks on a Docker daemon (without buildkit-host)"},
		{name: "immutable, restore: false", set: func(c *engine.Config) { c.Restore = false }, immutable: true, storeKey: true, mark: engine.ErrImmutable,
			want: "restore: false: pushing REF: "},
		{name: "immutable, pushed by another run meanwhile", immutable: true, mark: engine.ErrImmutable,
			fail: engine.MarkRefusal(errors.New("failed to push REF: tag is immutable")), want: "run the job again to take its image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, b := bkRig(t, tt.set)
			r.reg.Immutable = tt.immutable
			r.store("latest", []key.Input{{Name: "dockerfile", Digest: "sha256:old"}}, time.Hour)
			latest := r.reg.Tags["latest"]
			if tt.storeKey {
				r.store(r.key.Tag, nil, time.Hour)
			}
			if tt.fail != nil {
				b.Fail = map[string]error{"Build " + r.ref: tt.fail}
			}
			_, err := r.runWith(t, b)
			var be *engine.BuildError
			want := strings.ReplaceAll(tt.want, "REF", r.ref)
			if err == nil || errors.As(err, &be) || !errors.Is(err, tt.mark) || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v (a build error: %v); want a push error marked %v saying %q", err, be != nil, tt.mark, want)
			}
			if r.reg.Tags["latest"].Digest != latest.Digest {
				t.Errorf("latest moved to %+v", r.reg.Tags["latest"])
			}
			if _, ok := r.reg.Tags[r.key.Tag]; ok != tt.storeKey {
				t.Errorf("key tag stored: %v, want %v", ok, tt.storeKey)
			}
		})
	}
}
