package engine

import (
	"context"
	"errors"
	"fmt"
)

// Builder builds the image of a miss: the job's Docker daemon
// (DaemonBuilder), which keeps it, or a BuildKit daemon at buildkit-host
// (engine/buildkit), which pushes spec.Tags itself.
type Builder interface {
	Build(ctx context.Context, spec BuildSpec) (BuildResult, error)
}

// DaemonBuilder builds on the job's Docker daemon. The image stays there
// under spec.Tags: the engine pushes it.
type DaemonBuilder struct{ Docker Docker }

var _ Builder = DaemonBuilder{}

// Build builds spec on the daemon.
func (b DaemonBuilder) Build(ctx context.Context, spec BuildSpec) (BuildResult, error) {
	id, err := b.Docker.Build(ctx, spec)
	return BuildResult{ID: id}, err
}

// Tagger is a Registry that gives an image it holds another tag without
// pulling it: latest moves this way after a BuildKit host pushed the key
// tag.
type Tagger interface {
	Tag(ctx context.Context, tag, newTag string, auth Auth) error
}

// builder is the BuildKit builder when the plan names a buildkit-host,
// else the job's Docker daemon.
func (e *Engine) builder(s *state) (Builder, error) {
	if s.plan.BuildKit.Addr == "" {
		return DaemonBuilder{e.Docker}, nil
	}
	if e.Builder == nil {
		return nil, fmt.Errorf("buildkit-host %s is set, but no BuildKit builder was made for it", s.plan.BuildKit.Addr)
	}
	return e.Builder, nil
}

// cacheSources gives spec its layer cache. latest, when it is in the
// registry, and cache-from are read with either builder (the Docker daemon
// reads their inline cache). A BuildKit host also reads and writes the
// full cache (mode=max) at cache-to, <image>:buildcache by default, with a
// fresh credential: it pushes during the build. A ref not pushed yet is
// skipped by the builders.
func (e *Engine) cacheSources(ctx context.Context, s *state, spec *BuildSpec, latestStored bool) error {
	p := &s.plan
	if p.BuildKit.Addr != "" {
		auth, err := e.Registry.Auth(ctx)
		if err != nil {
			return fmt.Errorf("getting credentials for the BuildKit host to push %s: %w", s.Ref, err)
		}
		e.Reporter.Mask(auth.Password)
		spec.Auth = auth
		spec.CacheTo = CacheRef(s.Image, p.Config.CacheTo)
		e.Reporter.Infof("building on %s, which pushes %s; full layer cache at %s", p.BuildKit.Addr, s.Ref, spec.CacheTo)
	}
	if p.Flags.NoCache {
		return nil
	}
	if latestStored {
		spec.CacheFrom = append(spec.CacheFrom, s.Image+":latest")
	}
	spec.CacheFrom = append(spec.CacheFrom, p.Config.CacheFrom...)
	for _, ref := range spec.CacheFrom {
		e.Reporter.Infof("using %s as layer cache", ref)
	}
	return nil
}

// builderPushed finishes a miss whose builder pushed the key tag itself:
// it moves latest in the registry, only now that the key tag is stored,
// then pulls the image for the job unless skip-pull-from-cache is set.
func (e *Engine) builderPushed(ctx context.Context, s *state) error {
	log := e.Reporter
	log.Infof("%s pushed %s (%s)", s.plan.BuildKit.Addr, s.Ref, ShortDigest(s.Digest))
	cfg := &s.plan.Config
	// Ask again: the build may have outlasted the lookup's token.
	auth, err := e.Registry.Auth(ctx)
	if err != nil {
		return fmt.Errorf("getting credentials for %s after the build: %w", s.Image, err)
	}
	log.Mask(auth.Password)
	// Hand over what the registry holds: another agent may have pushed
	// the same key meanwhile.
	if s.Digest, err = e.held(ctx, s, s.Digest, auth); err != nil {
		return err
	}
	if cfg.PushLatest && e.latestIsOlder(ctx, s, auth) {
		if err := e.tagLatest(ctx, s, auth); err != nil {
			return err
		}
	}
	if cfg.SkipPullFromCache {
		log.Infof("skip-pull-from-cache is set, so %s is not pulled", s.Ref)
		return nil
	}
	if err := e.pull(ctx, s, auth); err != nil {
		return fmt.Errorf("after the BuildKit host pushed %s: %w", s.Ref, err)
	}
	return nil
}

// tagLatest moves latest to the key's image in the registry, which holds
// the key tag already.
func (e *Engine) tagLatest(ctx context.Context, s *state, auth Auth) error {
	latest := s.Image + ":latest"
	e.Reporter.Phase(PhasePush, latest)
	t, ok := e.Registry.(Tagger)
	if !ok {
		return errors.New("moving latest: this registry provider cannot tag an image in the registry; set push-latest: false with buildkit-host")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not moving %s: %w", latest, err)
	}
	if err := t.Tag(ctx, s.Tag, "latest", auth); err != nil {
		return fmt.Errorf("moving %s to %s: %w", latest, s.Ref, err)
	}
	e.Reporter.Infof("%s now names %s", latest, s.Ref)
	return nil
}
