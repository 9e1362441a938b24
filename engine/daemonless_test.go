package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

var errNoDaemon = errors.New("no Docker daemon answers at unix:///nonexistent/docker.sock")

// TestRunDaemonless runs with a Docker that does not answer: nothing is
// asked of it; a hit is one registry lookup and is handed over by
// reference; a miss is built on buildkit-host, which pushes; the platform
// hashed is the plan's, else the workers', else this machine's.
func TestRunDaemonless(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		buildkit  bool   // a buildkit-host (the fake Builder)
		platform  string // the platform option
		workers   string // the fake Builder's platform
		stored    bool   // the key's image is in the registry
		hashed    string // the platform the key hashes
		registry  []string
		builder   []string
		log       string
		wantErr   []string
		notConfig bool
	}{
		{
			name: "hit without buildkit-host: one lookup, this machine's platform", stored: true,
			hashed:   engine.DefaultPlatform(),
			registry: []string{"Repository", "Auth", "Lookup KEY"},
			log:      "this machine's (no Docker daemon, and no buildkit-host)",
		},
		{
			name: "hit with buildkit-host: the workers' platform, nothing built", stored: true, buildkit: true, workers: "linux/arm64",
			hashed:   "linux/arm64",
			registry: []string{"Repository", "Auth", "Lookup KEY"},
			builder:  []string{"Platform"},
			log:      "the BuildKit workers' at " + buildkitHost,
		},
		{
			name: "hit with the platform option: no one is asked", stored: true, buildkit: true, platform: "linux/s390x", workers: "linux/arm64",
			hashed:   "linux/s390x",
			registry: []string{"Repository", "Auth", "Lookup KEY"},
		},
		{
			name: "miss with buildkit-host: built for the workers' platform, pushed by it, latest moved in the registry", buildkit: true, workers: "linux/arm64",
			hashed:   "linux/arm64",
			registry: []string{"Repository", "Auth", "Lookup KEY", "Prepare", "Labels latest", "ListTags", "Put KEY", "Auth", "Lookup KEY", "Labels latest", "Tag KEY latest", "Put latest"},
			builder:  []string{"Platform", "Build REF"},
			log:      "handed over by reference, not pulled",
		},
		{
			name: "miss with neither: exit 1 naming both ways", hashed: engine.DefaultPlatform(),
			registry: []string{"Repository", "Auth", "Lookup KEY"},
			wantErr:  []string{"nothing to build it on", "no Docker daemon answers", "buildkit-host", "Docker-in-Docker", "docker.sock", "cannot hand an image to another job"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, b := bkRig(t, func(c *engine.Config) { c.Platform = tt.platform })
			if !tt.buildkit {
				r.cfg.BuildKitHost = ""
			}
			b.Arch = tt.workers
			r.dock.Absent = errNoDaemon
			keyCfg := r.cfg
			keyCfg.Platform = tt.hashed
			k, err := engine.ComputeKey(context.Background(), &keyCfg)
			if err != nil {
				t.Fatal(err)
			}
			ref := repo + ":" + k.Tag
			if tt.stored {
				r.store(k.Tag, nil, time.Hour)
			}
			res, err := r.runWith(t, b)
			if calls := r.dock.Called(); len(calls) > 0 {
				t.Errorf("the absent daemon was asked %q", calls)
			}
			sub := strings.NewReplacer("REF", ref, "KEY", k.Tag)
			want := func(calls []string) []string {
				var out []string
				for _, c := range calls {
					out = append(out, sub.Replace(c))
				}
				return out
			}
			if got := r.reg.Called(); !slices.Equal(got, want(tt.registry)) {
				t.Errorf("registry calls %q, want %q", got, want(tt.registry))
			}
			if got := b.Called(); !slices.Equal(got, want(tt.builder)) {
				t.Errorf("builder calls %q, want %q", got, want(tt.builder))
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; result %+v", res)
				}
				if engine.IsConfigError(err) {
					t.Errorf("a configuration error (exit 2), want a runtime error (exit 1): %v", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q: %v", w, err)
					}
				}
				if _, ok := r.reg.Tags["latest"]; ok {
					t.Error("latest was stored")
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v\n%s", err, r.log.Log())
			}
			if res.Key.Tag != k.Tag {
				t.Errorf("key %s, want %s: the key of platform %s", res.Key.Tag, k.Tag, tt.hashed)
			}
			if res.Pulled || res.Ref != ref || res.Digest != r.reg.Tags[k.Tag].Digest || res.Digest == "" {
				t.Errorf("result %+v: want %s handed over with the registry's digest %s, not pulled", res, ref, r.reg.Tags[k.Tag].Digest)
			}
			if res.CacheHit != tt.stored || res.Built == tt.stored {
				t.Errorf("hit %v built %v; want hit %v", res.CacheHit, res.Built, tt.stored)
			}
			if specs := b.Built(); !tt.stored && (len(specs) != 1 || specs[0].Platform != tt.hashed) {
				t.Errorf("builds %+v, want one for %s", specs, tt.hashed)
			}
			if log := r.log.Log(); !strings.Contains(log, "daemonless") || !strings.Contains(log, tt.log) {
				t.Errorf("log does not say daemonless and %q:\n%s", tt.log, log)
			}
		})
	}
}

// TestRunDaemonlessRefusals: the local provider keeps its images on the
// daemon, so a daemonless run fails before the key; a BuildKit host that
// cannot say its platform fails the run rather than hash another.
func TestRunDaemonlessRefusals(t *testing.T) {
	t.Parallel()
	t.Run("local provider", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal })
		r.dock.Absent = errNoDaemon
		_, err := r.run(t)
		if err == nil || engine.IsConfigError(err) || !strings.Contains(err.Error(), "registry-provider local keeps its images on the Docker daemon") ||
			!strings.Contains(err.Error(), "buildkit-host") || !errors.Is(err, errNoDaemon) {
			t.Errorf("err = %v", err)
		}
		if calls := append(r.dock.Called(), r.reg.Called()...); len(calls) > 0 {
			t.Errorf("calls %q, want none", calls)
		}
	})
	t.Run("workers' platform unknown", func(t *testing.T) {
		t.Parallel()
		r, b := bkRig(t, nil)
		r.dock.Absent = errNoDaemon
		errWorkers := errors.New("connection refused")
		b.Fail = map[string]error{"Platform": errWorkers}
		_, err := r.runWith(t, b)
		if !errors.Is(err, errWorkers) || !strings.Contains(err.Error(), "asking buildkit-host "+buildkitHost+" for its platform") {
			t.Errorf("err = %v", err)
		}
		if _, ok := r.reg.Tags["latest"]; ok || len(b.Built()) > 0 {
			t.Error("built or stored after all")
		}
	})
}

// TestRunDaemonAnswers: with a daemon that answers, a buildkit-host run
// hashes the daemon's platform, as before, and never the workers'.
func TestRunDaemonAnswers(t *testing.T) {
	t.Parallel()
	r, b := bkRig(t, func(c *engine.Config) { c.SkipPullFromCache = true })
	b.Arch = "linux/arm64"
	res, err := r.runWith(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Key.Tag != r.key.Tag || slices.Contains(b.Called(), "Platform") || !slices.Contains(r.dock.Called(), "Platform") {
		t.Errorf("key %s (want the daemon's platform's %s); builder calls %q, daemon calls %q", res.Key.Tag, r.key.Tag, b.Called(), r.dock.Called())
	}
	if strings.Contains(r.log.Log(), "daemonless") {
		t.Errorf("log says daemonless:\n%s", r.log.Log())
	}
}
