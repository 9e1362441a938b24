package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// miss says what changed since the previous image, builds the key's image
// with the previous one as layer cache, and stores it: pushed to the
// registry, or tagged latest on the daemon for the local provider. Run
// holds the machine's build lock of the key meanwhile.
func (e *Engine) miss(ctx context.Context, s *state) error {
	if err := e.canBuild(s); err != nil {
		return err
	}
	latestStored := e.explain(ctx, s)
	if s.can.Remote {
		if err := e.prepare(ctx, s); err != nil {
			return err
		}
	}
	if err := e.build(ctx, s, latestStored); err != nil {
		return err
	}
	switch {
	case s.byBuilder:
		return e.builderPushed(ctx, s)
	case s.can.Remote:
		return e.push(ctx, s)
	}
	return e.moveLatest(ctx, s)
}

// explain logs the miss and what changed since the previous image, latest,
// whose labels it reads as the forward-only check does (latestLabels). It
// reports whether latest is in the registry, to be layer cache.
func (e *Engine) explain(ctx context.Context, s *state) (latestStored bool) {
	labels, err := e.latestLabels(ctx, s)
	if errors.Is(err, ErrUnsupported) { // no labels: only ask whether latest is there
		_, err = e.Registry.Lookup(ctx, "latest", s.auth)
	}
	switch {
	case err == nil:
		latestStored = s.can.Remote
	case !errors.Is(err, ErrNotFound):
		e.Reporter.Warnf("could not read %s, so it is neither layer cache nor compared with: %v", s.latest(), err)
	}
	if labels == nil {
		e.Reporter.Infof("cache miss: no image for key %s", s.Tag)
		return latestStored
	}
	s.Previous = s.latest()
	s.Changed = key.Changed(labels[LabelInputs], labels[LabelKey], s.Key)
	e.Reporter.Infof("cache miss: no image for key %s; changed since %s: %s", s.Tag, s.Previous, key.DescribeChanges(s.Changed, 20, func(name string) string { return name }))
	return latestStored
}

// prepare readies the repository for a push.
func (e *Engine) prepare(ctx context.Context, s *state) error {
	e.Reporter.Phase(PhasePrepare, s.Image)
	if err := e.Registry.Prepare(ctx); err != nil {
		return fmt.Errorf("preparing %s: %w", s.Image, err)
	}
	return nil
}

// build builds the plan's image under the key's tag, with latest as layer
// cache when it is in the registry.
func (e *Engine) build(ctx context.Context, s *state, latestStored bool) error {
	log, p := e.Reporter, &s.plan
	log.Phase(PhaseBuild, s.Ref)
	labels := map[string]string{LabelKey: s.Tag, LabelInputs: string(key.Record(s.Key))}
	spec := BuildSpec{
		ContextDir: p.ContextDir,
		Dockerfile: p.Dockerfile,
		Target:     p.Config.Target,
		Platform:   p.Platform,
		BuildArgs:  append(append(slices.Clip(p.BuildArgs), p.UnhashedBuildArgs...), "BUILDKIT_INLINE_CACHE=1"),
		Secrets:    p.Secrets,
		Flags:      p.Flags,
		Tags:       []string{s.Ref},
		Labels:     labels,
		Auth:       s.auth,
		Getenv:     p.Config.getenv,
	}
	if p.Dockerfile == "" {
		spec.Inline = []byte(p.Config.DockerfileInline)
	}
	e.cacheSources(s, &spec, latestStored)
	if _, err := os.Stat(spec.ContextDir); err != nil {
		return Configf("context %q: %v: set context to an existing directory", spec.ContextDir, err)
	}
	started := time.Now()
	labels[LabelBuildStarted] = formatStarted(started)
	res, err := e.Builder.Build(ctx, spec)
	if err != nil {
		return &BuildError{Ref: s.Ref, Dockerfile: spec.Dockerfile, Err: err}
	}
	s.Built = true
	log.Infof("built %s in %s", s.Ref, time.Since(started).Round(100*time.Millisecond))
	if res.Pushed {
		s.Digest, s.Pushed, s.byBuilder = res.Digest, true, true
		s.local = Image{ID: res.ID, Labels: labels}
		return nil
	}
	img, err := e.Docker.Inspect(ctx, s.Ref)
	if err != nil {
		return fmt.Errorf("inspecting %s after the build: %w", s.Ref, err)
	}
	s.local = img
	return nil
}

// cacheSources gives spec its layer cache. latest, when it is in the
// registry, and cache-from are read with either builder (the Docker daemon
// reads their inline cache). A BuildKit host also reads and writes the
// full cache (mode=max) at cache-to, <image>:buildcache by default: it
// pushes during the build, with the credential just fetched. A ref not
// pushed yet is skipped by the builders.
func (e *Engine) cacheSources(s *state, spec *BuildSpec, latestStored bool) {
	p := &s.plan
	if p.BuildKit.Addr != "" {
		spec.CacheTo = CacheRef(s.Image, p.Config.CacheTo)
		e.Reporter.Infof("building on %s, which pushes %s; full layer cache at %s", p.BuildKit.Addr, s.Ref, spec.CacheTo)
	}
	if p.Flags.NoCache {
		return
	}
	if latestStored {
		spec.CacheFrom = append(spec.CacheFrom, s.latest())
	}
	spec.CacheFrom = append(spec.CacheFrom, p.Config.CacheFrom...)
	for _, ref := range spec.CacheFrom {
		e.Reporter.Infof("using %s as layer cache", ref)
	}
}

// builderPushed finishes a miss whose builder pushed the key tag itself:
// it moves latest in the registry, only now that the key tag is stored,
// then pulls the image for the job unless skip-pull-from-cache is set.
func (e *Engine) builderPushed(ctx context.Context, s *state) error {
	e.Reporter.Infof("%s pushed %s (%s)", s.plan.BuildKit.Addr, s.Ref, ShortDigest(s.Digest))
	if err := e.auth(ctx, s); err != nil {
		return err
	}
	var err error
	// Hand over what the registry holds: another agent may have pushed
	// the same key meanwhile.
	if s.Digest, err = e.held(ctx, s, s.Digest); err != nil {
		return err
	}
	if err := e.moveLatest(ctx, s); err != nil {
		return err
	}
	switch {
	case !s.daemon:
		e.Reporter.Infof("with no Docker daemon here, %s is handed over by reference, not pulled", s.Ref)
		return nil
	case s.plan.Config.SkipPullFromCache:
		e.Reporter.Infof("skip-pull-from-cache is set, so %s is not pulled", s.Ref)
		return nil
	}
	if err := e.pull(ctx, s); err != nil {
		return fmt.Errorf("after the BuildKit host pushed %s: %w", s.Ref, err)
	}
	return nil
}

// BuildError is a failed image build. Front ends use Dockerfile to point
// at the file, for example in a GitHub annotation.
type BuildError struct {
	Ref        string
	Dockerfile string // path on disk; empty with dockerfile-inline
	Err        error
}

func (e *BuildError) Error() string { return fmt.Sprintf("building %s: %v", e.Ref, e.Err) }
func (e *BuildError) Unwrap() error { return e.Err }
