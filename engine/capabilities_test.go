package engine_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/fake"
)

// providers are the registry providers' capability sets, as the fake
// registry takes them: every remote provider can do everything; the local
// one nothing in a registry; the rest opt out of one capability, as a
// provider that truly cannot would.
var providers = []struct {
	name string
	set  func(*engine.Config)
	opt  func(*fake.Registry)
}{
	{name: "remote (ecr, gcr, artifact-registry, registry)"},
	{name: "local", set: func(c *engine.Config) { c.RegistryProvider = engine.ProviderLocal }},
	{name: "cannot read labels", opt: func(r *fake.Registry) { r.NoLabels = true }},
	{name: "cannot tag", opt: func(r *fake.Registry) { r.NoTag = true }},
}

// capRig is a rig for a provider's capability set, building on the
// daemon or, with bk, on a BuildKit host.
func capRig(t *testing.T, i int, bk bool, set func(*engine.Config)) (*rig, builder) {
	t.Helper()
	p := providers[i]
	r := newRig(t, func(c *engine.Config) {
		if p.set != nil {
			p.set(c)
		}
		if bk {
			c.BuildKitHost = buildkitHost
		}
		if set != nil {
			set(c)
		}
	})
	if p.opt != nil {
		p.opt(r.reg)
	}
	if bk {
		return r, &fake.Builder{Registry: r.reg}
	}
	return r, r.dock
}

// builder is a fake builder: the daemon or a BuildKit host.
type builder interface {
	engine.Builder
	Called() []string
}

// onBuild makes b call f as each build starts.
func onBuild(b builder, f func()) {
	hook := func(call string) {
		if strings.HasPrefix(call, "Build ") {
			f()
		}
	}
	switch b := b.(type) {
	case *fake.Builder:
		b.Hook = hook
	case *fake.Docker:
		b.Hook = hook
	}
}

// latestNow is the image named latest after the run: the registry's, or
// the daemon's for the local provider.
func (r *rig) latestNow() map[string]string {
	if r.reg.Local {
		return r.dock.Images[r.reg.Repo+":latest"].Labels
	}
	return r.reg.Tags["latest"].Labels
}

// putLatest stores an image as latest, started at started and recording
// inputs, where the provider keeps latest.
func (r *rig) putLatest(key string, inputs []key.Input, started time.Time) {
	b, _ := json.Marshal(inputs)
	labels := map[string]string{
		engine.LabelKey:          key,
		engine.LabelInputs:       string(b),
		engine.LabelBuildStarted: fmt.Sprintf("%d.%09d", started.Unix(), started.Nanosecond()),
	}
	if r.reg.Local {
		r.dock.Images[r.reg.Repo+":latest"] = engine.Image{ID: "sha256:" + key, Labels: labels, Created: started}
		return
	}
	r.reg.Tags["latest"] = fake.Manifest{Digest: fake.Digest(key), Labels: labels}
}

// TestRunEachProvider runs the two guarantees that an optional capability
// used to break on ECR against every provider's capability set, with
// either builder: two overlapping misses finishing in reverse order leave
// latest on the newer build, and a miss on a daemon that never saw the
// previous image names the changed input. A provider that cannot carry a
// plan out says so before anything is built or pushed.
func TestRunEachProvider(t *testing.T) {
	t.Parallel()
	for i, p := range providers {
		for _, bk := range []bool{false, true} {
			if bk && p.set != nil { // the local provider has no registry for a BuildKit host
				continue
			}
			name := p.name + ", daemon"
			if bk {
				name = p.name + ", buildkit-host"
			}
			refused := p.name == "cannot read labels" || p.name == "cannot tag" && bk
			t.Run(name+": overlapping misses", func(t *testing.T) {
				t.Parallel()
				r, b := capRig(t, i, bk, nil)
				// The other run started after this one and finishes first:
				// its latest lands while this one builds.
				onBuild(b, func() {
					time.Sleep(2 * time.Millisecond)
					r.putLatest("newer", nil, time.Now())
				})
				res, err := r.runWith(t, b)
				if refused {
					if !engine.IsConfigError(err) || !strings.Contains(err.Error(), "set push-latest: false") {
						t.Fatalf("error = %v, want a configuration error naming push-latest", err)
					}
					if got := r.reg.Called(); len(got) > 0 || len(b.Called()) > 0 {
						t.Errorf("refused after calls: registry %q, builder %q", got, b.Called())
					}
					return
				}
				if err != nil {
					t.Fatalf("Run: %v\n%s", err, r.log.Log())
				}
				if !res.Built || r.latestNow()[engine.LabelKey] != "newer" {
					t.Errorf("built %v; latest names %q, want the newer build's\n%s", res.Built, r.latestNow()[engine.LabelKey], r.log.Log())
				}
				if !strings.Contains(r.log.Log(), "latest is left where it is: it names a build that started at") {
					t.Errorf("log does not say why latest stays:\n%s", r.log.Log())
				}
			})
			t.Run(name+": a fresh daemon names the changed input", func(t *testing.T) {
				t.Parallel()
				r, b := capRig(t, i, bk, func(c *engine.Config) { c.PushLatest = !refused })
				older := slicesWith(r.key.Inputs, "dockerfile", "sha256:old")
				r.putLatest("older", older, time.Now().Add(-time.Hour))
				res, err := r.runWith(t, b)
				if err != nil {
					t.Fatalf("Run: %v\n%s", err, r.log.Log())
				}
				canRead := p.name != "cannot read labels"
				if named := len(res.Changed) == 1 && res.Changed[0] == (key.Change{Kind: key.Modified, Input: "dockerfile"}); named != canRead {
					t.Errorf("changed %v, want the dockerfile named: %v\n%s", res.Changed, canRead, r.log.Log())
				}
				if canRead && !strings.Contains(r.log.Log(), "changed since "+r.reg.Repo+":latest: dockerfile") {
					t.Errorf("log does not name the change:\n%s", r.log.Log())
				}
				if moved := r.latestNow()[engine.LabelKey] == r.key.Tag; moved != !refused {
					t.Errorf("latest moved %v, want %v", moved, !refused)
				}
			})
		}
	}
}

// slicesWith is inputs with name's digest replaced.
func slicesWith(inputs []key.Input, name, digest string) []key.Input {
	out := append([]key.Input(nil), inputs...)
	for i := range out {
		if out[i].Name == name {
			out[i].Digest = digest
		}
	}
	return out
}
