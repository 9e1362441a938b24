package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

const repo = "127.0.0.1:5000/team/cache"

// rig is one run on the fakes.
type rig struct {
	cfg  engine.Config
	reg  *fake.Registry
	dock *fake.Docker
	log  *fake.Reporter
	key  key.Key // the key the run computes
	ref  string  // repo:key
}

// newRig makes a checkout holding a Dockerfile and a configuration for
// registry-provider: registry, changed by set.
func newRig(t *testing.T, set func(*engine.Config)) *rig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := engine.NewConfig()
	c.WorkDir = dir
	c.RegistryProvider = engine.ProviderRegistry
	c.Registry = repo
	c.BuildArgs = []string{"A=1", "BARE"}
	c.Getenv = func(k string) string { return map[string]string{"BARE": "bare-value", "TOKEN": "s3cret"}[k] }
	c.LockDir = t.TempDir()
	if set != nil {
		set(&c)
	}
	reg := fake.NewRegistry(repo)
	reg.Local = c.RegistryProvider == engine.ProviderLocal
	if reg.Local {
		reg.Repo = c.RepositoryName()
	}
	r := &rig{cfg: c, reg: reg, dock: fake.NewDocker(reg), log: &fake.Reporter{}}
	keyCfg := c
	if keyCfg.Platform == "" && !strings.Contains(c.AdditionalBuildArgs, "--platform") {
		keyCfg.Platform = "linux/amd64" // the fake daemon's
	}
	var err error
	if r.key, err = engine.ComputeKey(context.Background(), &keyCfg); err != nil {
		t.Fatal(err)
	}
	r.ref = reg.Repo + ":" + r.key.Tag
	return r
}

func (r *rig) run(t *testing.T) (engine.Result, error) {
	t.Helper()
	plan, err := r.cfg.Plan()
	if err != nil {
		t.Fatal(err)
	}
	e := engine.Engine{Plan: plan, Registry: r.reg, Docker: r.dock, Builder: r.dock, Reporter: r.log}
	return e.Run(t.Context())
}

// store puts an image in the registry under tag, built started ago and
// recording inputs.
func (r *rig) store(tag string, inputs []key.Input, took time.Duration) {
	b, _ := json.Marshal(inputs)
	r.reg.Tags[tag] = fake.Manifest{Digest: stored(tag), Labels: map[string]string{
		engine.LabelKey:          tag,
		engine.LabelInputs:       string(b),
		engine.LabelBuildStarted: strconv.FormatInt(time.Now().Add(-took).Unix(), 10),
	}}
}

// stored is the digest store gives tag's image.
func stored(tag string) string { return fake.Digest("stored-" + tag) }

// local puts an image on the daemon under ref, without a key label.
func (r *rig) local(ref string, inputs []key.Input) {
	b, _ := json.Marshal(inputs)
	r.dock.Images[ref] = engine.Image{ID: "sha256:local", RepoDigests: []string{"other/repo@" + fake.Digest("elsewhere")},
		Labels: map[string]string{engine.LabelInputs: string(b)}, Created: time.Now()}
}

// localKey puts an image on the daemon under the key's reference, with
// label as its key label (KEY for the key) and repoDigests as where it
// was pushed to or pulled from (REPO@DIGEST for the registry's digest).
func (r *rig) localKey(label string, repoDigests ...string) {
	sub := strings.NewReplacer("KEY", r.key.Tag, "REPO", r.reg.Repo, "DIGEST", stored(r.key.Tag))
	img := engine.Image{ID: "sha256:local", Labels: map[string]string{engine.LabelKey: sub.Replace(label)}, Created: time.Now()}
	for _, d := range repoDigests {
		img.RepoDigests = append(img.RepoDigests, sub.Replace(d))
	}
	r.dock.Images[r.ref] = img
}

func TestRunBranches(t *testing.T) {
	t.Parallel()
	older := []key.Input{{Name: "dockerfile", Digest: "sha256:old"}, {Name: "file gone.txt", Digest: "sha256:x"}}
	tests := []struct {
		name   string
		set    func(*engine.Config)
		before func(r *rig)
		// want
		hit, pulled, built, pushed bool
		cacheFrom                  bool     // latest is the build's layer cache
		calls                      []string // Docker calls, with REF for the key's reference
		puts                       []string // the registry's stored tags, in order
		phases                     []string
		log                        []string // lines the log contains
	}{
		{
			name:  "miss builds, pushes the key tag, then moves latest",
			built: true, pushed: true,
			calls:  []string{"Inspect REF", "Build REF", "Inspect REF", "Push REF", "Tag REF " + repo + ":latest", "Push " + repo + ":latest"},
			puts:   []string{"KEY", "latest"},
			phases: []string{"Computing cache key", "Looking up REF", "Preparing repository " + repo, "Building REF", "Pushing REF"},
			log:    []string{"cache miss: no image for key KEY", "built REF in"},
		},
		{
			name:  "miss without push-latest leaves latest alone",
			set:   func(c *engine.Config) { c.PushLatest = false },
			built: true, pushed: true,
			calls: []string{"Inspect REF", "Build REF", "Inspect REF", "Push REF"},
			puts:  []string{"KEY"},
		},
		{
			name:   "miss says what changed since latest in the registry, and builds on it",
			before: func(r *rig) { r.store("latest", older, time.Minute) },
			built:  true, pushed: true, cacheFrom: true,
			puts: []string{"KEY", "latest"},
			log: []string{"changed since " + repo + ":latest: additional-build-args (new), build-arg A (new)",
				"dockerfile, file gone.txt (gone)", "using " + repo + ":latest as layer cache"},
		},
		{
			name:   "miss reads the previous inputs from the registry, not from a stale latest on the daemon",
			before: func(r *rig) { r.store("latest", older, 0); r.local(repo+":latest", nil) },
			built:  true, pushed: true, cacheFrom: true,
			log: []string{"file gone.txt (gone)", "using " + repo + ":latest as layer cache"},
		},
		{
			name:   "no-cache: latest is not layer cache",
			set:    func(c *engine.Config) { c.AdditionalBuildArgs = "--no-cache" },
			before: func(r *rig) { r.store("latest", older, 0) },
			built:  true, pushed: true,
			log: []string{"changed since"},
		},
		{
			name:   "hit is pulled by the digest the registry gave, then tagged",
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0) },
			hit:    true, pulled: true,
			calls:  []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
			phases: []string{"Computing cache key", "Looking up REF", "Pulling REF"},
		},
		{
			name: "hit already on the daemon, with the key label and the registry's digest, is not pulled",
			before: func(r *rig) {
				r.store(r.key.Tag, r.key.Inputs, 0)
				r.localKey("KEY", "other/repo@"+fake.Digest("x"), "REPO@DIGEST")
			},
			hit:   true,
			calls: []string{"Inspect REF"},
			log:   []string{"cache hit: REF is already on this machine, with the registry's digest DIGEST: nothing to pull"},
		},
		{
			name:   "hit on the daemon without the key label is pulled over",
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0); r.local(r.ref, nil) },
			hit:    true, pulled: true,
			calls: []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
			log:   []string{"REF on this machine is not the registry's DIGEST: pulling the registry's over it"},
		},
		{
			name:   "hit on the daemon with another key label is pulled over",
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0); r.localKey("0000", "REPO@DIGEST") },
			hit:    true, pulled: true,
			calls: []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
		},
		{
			name: "hit on the daemon with another digest is pulled over",
			before: func(r *rig) {
				r.store(r.key.Tag, r.key.Inputs, 0)
				r.localKey("KEY", "REPO@"+fake.Digest("other"), "elsewhere.io/cache@DIGEST")
			},
			hit: true, pulled: true,
			calls: []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
		},
		{
			name:   "hit on the daemon never pushed nor pulled is pulled over",
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0); r.localKey("KEY") },
			hit:    true, pulled: true,
			calls: []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
		},
		{
			name:   "skip-pull-from-cache: an untrusted local image is replaced all the same",
			set:    func(c *engine.Config) { c.SkipPullFromCache = true },
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0); r.localKey("0000", "REPO@DIGEST") },
			hit:    true, pulled: true,
			calls: []string{"Inspect REF", "Pull " + repo + "@DIGEST", "Tag " + repo + "@DIGEST REF", "Inspect REF"},
		},
		{
			name:   "skip-pull-from-cache: a verified local image is used",
			set:    func(c *engine.Config) { c.SkipPullFromCache = true },
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0); r.localKey("KEY", "REPO@DIGEST") },
			hit:    true,
			calls:  []string{"Inspect REF"},
		},
		{
			name:   "skip-pull-from-cache hands over the reference only",
			set:    func(c *engine.Config) { c.SkipPullFromCache = true },
			before: func(r *rig) { r.store(r.key.Tag, r.key.Inputs, 0) },
			hit:    true,
			calls:  []string{"Inspect REF"},
			log:    []string{"skip-pull-from-cache is set, so it is not pulled"},
		},
		{
			name:   "an image built here but never pushed is pushed, not rebuilt",
			before: func(r *rig) { r.localKey("KEY") },
			hit:    true, pushed: true,
			calls:  []string{"Inspect REF", "Push REF", "Tag REF " + repo + ":latest", "Push " + repo + ":latest"},
			puts:   []string{"KEY", "latest"},
			phases: []string{"Computing cache key", "Looking up REF", "Preparing repository " + repo, "Pushing REF"},
			log:    []string{"REF is on this machine but not in the registry: pushing it"},
		},
		{
			name:   "an image here without the key label is not pushed: the key's image is built",
			before: func(r *rig) { r.local(r.ref, r.key.Inputs) },
			built:  true, pushed: true,
			calls: []string{"Inspect REF", "Build REF", "Inspect REF", "Push REF",
				"Tag REF " + repo + ":latest", "Push " + repo + ":latest"},
			puts: []string{"KEY", "latest"},
			log:  []string{`REF is on this machine, but its org.docker-ecr-cache.key label is "", not the key: it is neither used nor pushed`},
		},
		{
			name:   "an image here with another key label is not pushed",
			before: func(r *rig) { r.localKey("0000") },
			built:  true, pushed: true,
			puts: []string{"KEY", "latest"},
		},
		{
			name:   "local provider: a miss is built and tagged latest, nothing pushed",
			set:    func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal },
			built:  true,
			calls:  []string{"Inspect REF", "Inspect build-cache/docker-ecr-cache:latest", "Build REF", "Inspect REF", "Inspect build-cache/docker-ecr-cache:latest", "Tag REF build-cache/docker-ecr-cache:latest"},
			phases: []string{"Computing cache key", "Building REF"},
		},
		{
			name:  "local provider without push-latest",
			set:   func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal; c.PushLatest = false },
			built: true,
			calls: []string{"Inspect REF", "Inspect build-cache/docker-ecr-cache:latest", "Build REF", "Inspect REF"},
		},
		{
			name:   "local provider: an image on the daemon with the key label is a hit",
			set:    func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal },
			before: func(r *rig) { r.localKey("KEY") },
			hit:    true,
			calls:  []string{"Inspect REF"},
		},
		{
			name:   "local provider: an image on the daemon without the key label is built again",
			set:    func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal },
			before: func(r *rig) { r.local(r.ref, nil) },
			built:  true,
			calls:  []string{"Inspect REF", "Inspect build-cache/docker-ecr-cache:latest", "Build REF", "Inspect REF", "Inspect build-cache/docker-ecr-cache:latest", "Tag REF build-cache/docker-ecr-cache:latest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.set)
			if tt.before != nil {
				tt.before(r)
			}
			res, err := r.run(t)
			if err != nil {
				t.Fatalf("Run: %v\nlog:\n%s", err, r.log.Log())
			}
			sub := func(s string) string {
				return strings.NewReplacer("REF", r.ref, "KEY", r.key.Tag, "DIGEST", stored(r.key.Tag)).Replace(s)
			}
			subAll := func(l []string) []string {
				out := make([]string, len(l))
				for i, s := range l {
					out[i] = sub(s)
				}
				return out
			}
			if res.Image != r.reg.Repo || res.Tag != r.key.Tag || res.Ref != r.ref || res.Key.Tag != r.key.Tag {
				t.Errorf("result names %s, %s, %s; want %s", res.Image, res.Tag, res.Ref, r.ref)
			}
			if res.CacheHit != tt.hit || res.Pulled != tt.pulled || res.Built != tt.built || res.Pushed != tt.pushed {
				t.Errorf("hit %v pulled %v built %v pushed %v; want %v %v %v %v",
					res.CacheHit, res.Pulled, res.Built, res.Pushed, tt.hit, tt.pulled, tt.built, tt.pushed)
			}
			if res.Digest == "" || res.Elapsed <= 0 {
				t.Errorf("digest %q, elapsed %v", res.Digest, res.Elapsed)
			}
			calls := slices.DeleteFunc(r.dock.Called(), func(s string) bool { return s == "Platform" })
			if tt.calls != nil && !slices.Equal(calls, subAll(tt.calls)) {
				t.Errorf("docker calls:\n got %q\nwant %q", calls, subAll(tt.calls))
			}
			var puts []string
			for _, c := range r.reg.Called() {
				if tag, ok := strings.CutPrefix(c, "Put "); ok {
					puts = append(puts, tag)
				}
			}
			if tt.puts != nil && !slices.Equal(puts, subAll(tt.puts)) {
				t.Errorf("pushed tags %q, want %q", puts, subAll(tt.puts))
			}
			if tt.phases != nil && !slices.Equal(r.log.Phases, subAll(tt.phases)) {
				t.Errorf("phases:\n got %q\nwant %q", r.log.Phases, subAll(tt.phases))
			}
			for _, want := range subAll(tt.log) {
				if !strings.Contains(r.log.Log(), want) {
					t.Errorf("log lacks %q:\n%s", want, r.log.Log())
				}
			}
			if tt.pushed && !tt.hit && res.Digest != r.reg.Tags[r.key.Tag].Digest {
				t.Errorf("digest %s, want the pushed %s", res.Digest, r.reg.Tags[r.key.Tag].Digest)
			}
			if tt.built {
				spec := r.dock.Specs[0]
				if spec.Labels[engine.LabelKey] != r.key.Tag || spec.Labels[engine.LabelInputs] == "" || spec.Labels[engine.LabelBuildStarted] == "" {
					t.Errorf("build labels %v", spec.Labels)
				}
				if !slices.Contains(spec.BuildArgs, "BUILDKIT_INLINE_CACHE=1") || !slices.Contains(spec.BuildArgs, "BARE=bare-value") {
					t.Errorf("build args %q", spec.BuildArgs)
				}
				if got := len(spec.CacheFrom) > 0; got != tt.cacheFrom {
					t.Errorf("cache-from %q, want it %v", spec.CacheFrom, tt.cacheFrom)
				}
			}
			noBuildArgDigest(t, r)
			if basic := base64.StdEncoding.EncodeToString([]byte("user:token")); r.reg.Can().Remote &&
				(!slices.Contains(r.log.Masked, "token") || !slices.Contains(r.log.Masked, basic)) {
				t.Errorf("registry password or its base64 user:password not masked: %q", r.log.Masked)
			}
		})
	}
}

func TestRunHitSaved(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.store(r.key.Tag, r.key.Inputs, 0)
	r.reg.Tags[r.key.Tag].Labels[engine.LabelBuildStarted] = strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	res, err := r.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Saved < 59*time.Minute || res.Digest != stored(r.key.Tag) {
		t.Errorf("saved %v, digest %s", res.Saved, res.Digest)
	}
	if !strings.Contains(engine.Summary(res), "saving a 1h0m") {
		t.Errorf("summary %q", engine.Summary(res))
	}
}

var (
	errDenied  = errors.New("DENIED: requested access to the resource is denied (HTTP 403)")
	errUnauth  = errors.New("UNAUTHORIZED: authentication required (HTTP 401)")
	errServer  = errors.New("HTTP 503 Service Unavailable")
	errDaemon  = errors.New("daemon says no")
	errTimeout = fmt.Errorf("get https://127.0.0.1:5000/v2/: %w", os.ErrDeadlineExceeded)
)

// TestRunFailures fails each step in turn: the error names the step and
// what it acted on, keeps the cause, and latest never moves ahead of the
// key tag.
func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		set                 func(*engine.Config)
		before              func(r *rig)
		fail                func(r *rig) // sets the fakes' Fail maps
		want                string       // in the error, with REF for the key's reference
		cause               error
		noBuild, latestKept bool
	}{
		{name: "403 on lookup is not a miss", fail: func(r *rig) { r.reg.Fail = map[string]error{"Lookup KEY": errDenied} },
			want: "looking up REF: DENIED", cause: errDenied, noBuild: true},
		{name: "401 on lookup is not a miss", fail: func(r *rig) { r.reg.Fail = map[string]error{"Lookup KEY": errUnauth} },
			want: "looking up REF: UNAUTHORIZED", cause: errUnauth, noBuild: true},
		{name: "5xx on lookup is not a miss", fail: func(r *rig) { r.reg.Fail = map[string]error{"Lookup KEY": errServer} },
			want: "looking up REF: HTTP 503", cause: errServer, noBuild: true},
		{name: "a timeout on lookup is not a miss", fail: func(r *rig) { r.reg.Fail = map[string]error{"Lookup KEY": errTimeout} },
			want: "looking up REF: get https", cause: os.ErrDeadlineExceeded, noBuild: true},
		{name: "no credential", fail: func(r *rig) { r.reg.Fail = map[string]error{"Auth": errDenied} },
			want: "getting credentials for " + repo + ": DENIED", cause: errDenied, noBuild: true},
		{name: "no repository", fail: func(r *rig) { r.reg.Fail = map[string]error{"Repository": errDenied} },
			want: "naming the repository: DENIED", cause: errDenied, noBuild: true},
		{name: "no daemon platform", fail: func(r *rig) { r.dock.Fail = map[string]error{"Platform": errDaemon} },
			want: "asking the Docker daemon for its platform: daemon says no", cause: errDaemon, noBuild: true},
		{name: "inspect fails", fail: func(r *rig) { r.dock.Fail = map[string]error{"Inspect REF": errDaemon} },
			want: "inspecting REF: daemon says no", cause: errDaemon, noBuild: true},
		{name: "pull fails", before: func(r *rig) { r.store(r.key.Tag, nil, 0) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Pull " + repo + "@DIGEST": errDaemon} },
			want: "pulling " + repo + "@DIGEST: daemon says no", cause: errDaemon, noBuild: true},
		{name: "tagging the pulled image fails", before: func(r *rig) { r.store(r.key.Tag, nil, 0) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Tag " + repo + "@DIGEST REF": errDaemon} },
			want: "tagging " + repo + "@DIGEST as REF: daemon says no", cause: errDaemon, noBuild: true},
		{name: "inspect after the pull fails", before: func(r *rig) { r.store(r.key.Tag, nil, 0) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Inspect REF #2": errDaemon} },
			want: "inspecting REF after the pull: daemon says no", cause: errDaemon, noBuild: true},
		{name: "prepare fails", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.reg.Fail = map[string]error{"Prepare": errDenied} },
			want: "preparing " + repo + ": DENIED", cause: errDenied, noBuild: true, latestKept: true},
		{name: "build fails", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Build REF": errDaemon} },
			want: "building REF: daemon says no", cause: errDaemon, latestKept: true},
		{name: "inspect after the build fails",
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Inspect REF #2": errDaemon} },
			want: "inspecting REF after the build: daemon says no", cause: errDaemon},
		{name: "credential for the push fails", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.reg.Fail = map[string]error{"Auth #2": errUnauth} },
			want: "getting credentials for " + repo + ": UNAUTHORIZED", cause: errUnauth, latestKept: true},
		{name: "key push fails: latest stays", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Push REF": errDenied} },
			want: "pushing REF: DENIED", cause: errDenied, latestKept: true},
		{name: "tagging latest fails: latest stays", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Tag REF " + repo + ":latest": errDaemon} },
			want: "tagging " + repo + ":latest: daemon says no", cause: errDaemon, latestKept: true},
		{name: "latest push fails", before: func(r *rig) { r.store("latest", nil, time.Hour) },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Push " + repo + ":latest": errServer} },
			want: "pushing " + repo + ":latest: HTTP 503", cause: errServer, latestKept: true},
		{name: "local but unpushed: prepare fails",
			before: func(r *rig) { r.localKey("KEY") },
			fail:   func(r *rig) { r.reg.Fail = map[string]error{"Prepare": errDenied} },
			want:   "preparing " + repo + ": DENIED", cause: errDenied, noBuild: true},
		{name: "local but unpushed: push fails",
			before: func(r *rig) { r.localKey("KEY") },
			fail:   func(r *rig) { r.dock.Fail = map[string]error{"Push REF": errDenied} },
			want:   "pushing REF: DENIED", cause: errDenied, noBuild: true},
		{name: "local provider: tagging latest fails",
			set:  func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal },
			fail: func(r *rig) { r.dock.Fail = map[string]error{"Tag REF build-cache/docker-ecr-cache:latest": errDaemon} },
			want: "tagging build-cache/docker-ecr-cache:latest: daemon says no", cause: errDaemon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.set)
			if tt.before != nil {
				tt.before(r)
			}
			latestBefore := r.reg.Tags["latest"]
			fails := func(m map[string]error) map[string]error {
				out := map[string]error{}
				for k, v := range m {
					out[strings.NewReplacer("REF", r.ref, "KEY", r.key.Tag, "DIGEST", stored(r.key.Tag)).Replace(k)] = v
				}
				return out
			}
			tt.fail(r)
			r.reg.Fail, r.dock.Fail = fails(r.reg.Fail), fails(r.dock.Fail)
			_, err := r.run(t)
			want := strings.NewReplacer("REF", r.ref, "DIGEST", stored(r.key.Tag)).Replace(tt.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v, want one containing %q", err, want)
			}
			if !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap its cause %v", err, tt.cause)
			}
			if engine.IsConfigError(err) {
				t.Errorf("a runtime failure is a ConfigError: %v", err)
			}
			if built := len(r.dock.Specs) > 0; tt.noBuild && built {
				t.Errorf("a failure before the build built anyway")
			}
			if tt.latestKept && !reflectEqual(r.reg.Tags["latest"], latestBefore) {
				t.Errorf("latest moved after a failure: %v, was %v", r.reg.Tags["latest"], latestBefore)
			}
			if tt.name == "build fails" {
				var be *engine.BuildError
				if !errors.As(err, &be) || be.Ref != r.ref || be.Dockerfile != filepath.Join(r.cfg.WorkDir, "Dockerfile") {
					t.Errorf("error %#v is not a BuildError for %s and its Dockerfile", err, r.ref)
				}
			}
		})
	}
}

func reflectEqual(a, b fake.Manifest) bool {
	return a.Digest == b.Digest && fmt.Sprint(a.Labels) == fmt.Sprint(b.Labels)
}

// TestRunPreviousUnreadable: what changed is best effort; a registry that
// cannot say does not stop the build.
func TestRunPreviousUnreadable(t *testing.T) {
	t.Parallel()
	t.Run("labels", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		r.store("latest", nil, time.Hour)
		r.reg.Fail = map[string]error{"Labels latest #1": errServer} // the read to say what changed
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.log.Warnings) != 1 || !strings.Contains(r.log.Warnings[0], "could not read "+repo+":latest, so it is neither layer cache nor compared with") {
			t.Errorf("warnings %q", r.log.Warnings)
		}
		if len(r.dock.Specs[0].CacheFrom) != 0 || res.Previous != "" {
			t.Errorf("cache-from %q, previous %q after a failed read", r.dock.Specs[0].CacheFrom, res.Previous)
		}
		if r.reg.Tags["latest"].Digest != res.Digest {
			t.Errorf("latest was not moved over an older build after the second read")
		}
	})
	t.Run("lookup, on a registry that cannot read labels", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, func(c *engine.Config) { c.PushLatest = false })
		r.reg.NoLabels = true
		r.store("latest", nil, 0)
		r.reg.Fail = map[string]error{"Lookup latest": errServer}
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.log.Warnings) != 1 || !strings.Contains(r.log.Warnings[0], "could not read "+repo+":latest") {
			t.Errorf("warnings %q", r.log.Warnings)
		}
		if len(r.dock.Specs[0].CacheFrom) != 0 || res.Previous != "" {
			t.Errorf("cache-from %q, previous %q after a failed lookup", r.dock.Specs[0].CacheFrom, res.Previous)
		}
	})
	t.Run("no recorded inputs", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		b, _ := json.Marshal(r.key.Inputs)
		r.reg.Tags["latest"] = fake.Manifest{Digest: stored("latest"), Labels: map[string]string{engine.LabelInputs: string(b)}}
		res, err := r.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if res.Previous != repo+":latest" || len(res.Changed) != 0 || !strings.Contains(r.log.Log(), key.NoRecordedChange) {
			t.Errorf("previous %q, changed %v:\n%s", res.Previous, res.Changed, r.log.Log())
		}
	})
}

// TestRunPlatform: the platform hashed is the one built, and with none
// given it is the daemon's.
func TestRunPlatform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, platform, flags, daemon string
		want                          string
		asks                          bool
	}{
		{name: "daemon's", daemon: "linux/arm64", want: "linux/arm64", asks: true},
		{name: "option", platform: "linux/s390x", daemon: "linux/arm64", want: "linux/s390x"},
		{name: "additional-build-args", flags: "--platform linux/arm/v7", daemon: "linux/arm64", want: "linux/arm/v7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, func(c *engine.Config) { c.Platform, c.AdditionalBuildArgs = tt.platform, tt.flags })
			r.dock.Arch = tt.daemon
			res, err := r.run(t)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.dock.Specs[0].Platform; got != tt.want {
				t.Errorf("built for %q, want %q", got, tt.want)
			}
			if asked := slices.Contains(r.dock.Called(), "Platform"); asked != tt.asks {
				t.Errorf("asked the daemon: %v, want %v", asked, tt.asks)
			}
			c := r.cfg
			c.Platform, c.AdditionalBuildArgs = tt.want, strings.ReplaceAll(tt.flags, "--platform "+tt.want, "")
			want, err := engine.ComputeKey(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Key.Tag != want.Tag {
				t.Errorf("key %s, want %s: the key of platform %s", res.Key.Tag, want.Tag, tt.want)
			}
		})
	}
}

// TestRunBuildSpec: the build gets the plan: absolute paths, parsed flags,
// secrets, the credential, and an inline Dockerfile's content.
func TestRunBuildSpec(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *engine.Config) {
		c.Context = "."
		c.Target = "ci"
		c.Secrets = []string{"TOKEN", "id=npmrc,src=npmrc"}
		if err := os.WriteFile(filepath.Join(c.WorkDir, "npmrc"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.AdditionalBuildArgs = "--network host --label team=web --build-arg EXTRA=2 --ssh default"
	})
	if _, err := r.run(t); err != nil {
		t.Fatal(err)
	}
	spec := r.dock.Specs[0]
	dir := r.cfg.WorkDir
	if spec.ContextDir != dir || spec.Dockerfile != filepath.Join(dir, "Dockerfile") || spec.Target != "ci" || len(spec.Inline) != 0 {
		t.Errorf("context %s, dockerfile %s, target %s", spec.ContextDir, spec.Dockerfile, spec.Target)
	}
	wantSecrets := []engine.Secret{{ID: "TOKEN", Env: "TOKEN"}, {ID: "npmrc", Src: filepath.Join(dir, "npmrc")}}
	if !slices.Equal(spec.Secrets, wantSecrets) {
		t.Errorf("secrets %+v, want %+v", spec.Secrets, wantSecrets)
	}
	if spec.Flags.Network != "host" || spec.Flags.Labels["team"] != "web" || !slices.Equal(spec.Flags.SSH, []string{"default"}) {
		t.Errorf("flags %+v", spec.Flags)
	}
	if want := []string{"A=1", "BARE=bare-value", "EXTRA=2", "BUILDKIT_INLINE_CACHE=1"}; !slices.Equal(spec.BuildArgs, want) {
		t.Errorf("build args %q, want %q", spec.BuildArgs, want)
	}
	if !slices.Contains(r.log.Masked, "s3cret") {
		t.Errorf("the secret's value is not masked: %q", r.log.Masked)
	}
	if spec.Auth != r.reg.Cred || spec.Getenv("TOKEN") != "s3cret" {
		t.Errorf("auth %+v; getenv does not read the job's environment", spec.Auth)
	}

	inline := newRig(t, func(c *engine.Config) { c.DockerfileInline = "FROM scratch\nLABEL x=1\n" })
	if _, err := inline.run(t); err != nil {
		t.Fatal(err)
	}
	spec = inline.dock.Specs[0]
	if spec.Dockerfile != "" || string(spec.Inline) != "FROM scratch\nLABEL x=1\n" || spec.ContextDir != inline.cfg.WorkDir {
		t.Errorf("inline: dockerfile %q, content %q, context %s", spec.Dockerfile, spec.Inline, spec.ContextDir)
	}
}

func TestRunConfigErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing context", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, func(c *engine.Config) { c.Context = "nowhere" })
		_, err := r.run(t)
		if !engine.IsConfigError(err) || !strings.Contains(err.Error(), "set context to an existing directory") {
			t.Errorf("error = %v, want a ConfigError about context", err)
		}
	})
	t.Run("missing Dockerfile", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		if err := os.Remove(filepath.Join(r.cfg.WorkDir, "Dockerfile")); err != nil {
			t.Fatal(err)
		}
		_, err := r.run(t)
		if !engine.IsConfigError(err) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("error = %v, want a ConfigError about the Dockerfile", err)
		}
		// The platform is asked while the files are hashed (a question
		// with no effect); nothing else may reach the daemon.
		used := slices.DeleteFunc(r.dock.Called(), func(c string) bool { return c == "Platform" })
		if len(used) > 0 {
			t.Errorf("the daemon was used before the key: %q", used)
		}
	})
	t.Run("a provider's name that is no reference", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, nil)
		r.reg.Repo = "127.0.0.1:5000/a b"
		_, err := r.run(t)
		if !engine.IsConfigError(err) || !strings.Contains(err.Error(), `the image reference "127.0.0.1:5000/a b:`) {
			t.Errorf("error = %v, want a ConfigError about the reference", err)
		}
		if slices.ContainsFunc(r.dock.Called(), func(c string) bool { return strings.HasPrefix(c, "Inspect") }) {
			t.Errorf("the daemon saw the reference: %q", r.dock.Called())
		}
	})
	t.Run("no plan", func(t *testing.T) {
		t.Parallel()
		e := engine.Engine{}
		if _, err := e.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "no plan") {
			t.Errorf("error = %v", err)
		}
	})
}

// noBuildArgDigest fails when a build arg's value, or its digest, can be
// read from the run's log or from the labels it built with: a guessable
// value (PIN=123) is found from its digest.
func noBuildArgDigest(t *testing.T, r *rig) {
	t.Helper()
	var published []string
	for _, in := range r.key.Inputs {
		if strings.HasPrefix(in.Name, key.BuildArgInput) {
			published = append(published, in.Digest, engine.ShortDigest(in.Digest))
		}
	}
	if len(published) == 0 {
		t.Fatal("the rig has no build args")
	}
	out := r.log.Log()
	for _, spec := range r.dock.Specs {
		out += "\n" + spec.Labels[engine.LabelInputs]
	}
	for _, d := range append(published, "bare-value") {
		if strings.Contains(out, d) {
			t.Errorf("%q is published:\n%s", d, out)
		}
	}
	if !strings.Contains(out, "build-arg BARE") {
		t.Errorf("build arg names are not shown:\n%s", out)
	}
}

// TestRunBuildArgChangeByElimination: build-arg values are not recorded,
// so a miss with no recorded input changed but another key says they did.
func TestRunBuildArgChangeByElimination(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil)
	r.store("latest", key.PublishedInputs(r.key.Inputs), 0)
	res, err := r.run(t)
	if err != nil {
		t.Fatal(err)
	}
	want := []key.Change{{Kind: key.Unrecorded, Input: key.BuildArgValues}}
	if !slices.Equal(res.Changed, want) || !strings.Contains(r.log.Log(), "changed since "+repo+":latest: build-arg values (not recorded)") {
		t.Errorf("changed %v:\n%s", res.Changed, r.log.Log())
	}

	// Labels written before build args were recorded by name only hold
	// their digests: those are compared by name too.
	r = newRig(t, nil)
	r.store("latest", r.key.Inputs, 0)
	if res, err = r.run(t); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Changed, want) {
		t.Errorf("changed %v against digest-recording labels", res.Changed)
	}
}

// TestRunMasksSecrets: every secret value is masked before the key is
// computed, whatever the front end: build secrets from the environment and
// from files, and the registry credentials in the environment.
func TestRunMasksSecrets(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *engine.Config) {
		c.Secrets = []string{"TOKEN", "id=npmrc,src=npmrc"}
		if err := os.WriteFile(filepath.Join(c.WorkDir, "npmrc"), []byte("//reg/:_authToken=file-s3cret\nline-two-s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"BARE": "bare-value", "TOKEN": "s3cret", "DOCKER_ECR_CACHE_REGISTRY_PASSWORD": "reg-pass", "AWS_SECRET_ACCESS_KEY": "aws-key", "AWS_SESSION_TOKEN": "aws-session"}
		c.Getenv = func(k string) string { return env[k] }
	})
	if _, err := r.run(t); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"s3cret", "//reg/:_authToken=file-s3cret\nline-two-s3cret", "reg-pass", "aws-key", "aws-session"} {
		if !slices.Contains(r.log.Masked, want) {
			t.Errorf("%q is not masked: %q", want, r.log.Masked)
		}
	}
	if len(r.log.Phases) == 0 || !strings.HasPrefix(r.log.Phases[0], engine.PhaseKey.String()) {
		t.Errorf("phases %q", r.log.Phases)
	}
}
