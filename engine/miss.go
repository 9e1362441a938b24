package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// miss says what changed since the previous image, builds the key's image
// with the previous one as layer cache, and stores it: pushed to the
// registry, or tagged latest on the daemon for the local provider; with
// save: false it is only handed over. Run holds the machine's build lock
// of the key meanwhile.
func (e *Engine) miss(ctx context.Context, s *state) error {
	cfg := &s.plan.Config
	if err := e.canBuild(s); err != nil {
		return err
	}
	if s.CacheHit { // restore: false
		e.Reporter.Infof("restore: false: %s is stored, but is built again and replaces it", s.Ref)
		s.CacheHit, s.Digest = false, ""
	}
	if s.can.Remote && cfg.Save {
		if err := e.prepare(ctx, s); err != nil {
			if !cfg.ForkPullRequest {
				return err
			}
			// A fork's credential may not create the repository nor set
			// its policy: the push tells whether it may store the image.
			e.Reporter.Warnf("%v: this run is a pull request from a fork, so the build goes on, and its push may be refused too", err)
		}
	}
	cache := e.explain(ctx, s)
	if err := e.build(ctx, s, cache); err != nil {
		return err
	}
	switch {
	case !cfg.Save:
		e.Reporter.Infof("save: false: %s is handed over from this machine; nothing is pushed and latest is not moved", s.Ref)
		s.Unstored = true
		return nil
	case s.byBuilder:
		return e.builderPushed(ctx, s)
	case s.can.Remote:
		return e.push(ctx, s)
	}
	return e.moveLatest(ctx, s)
}

// explain logs the miss and what changed since the previous image, whose
// labels it reads as the forward-only check does (labels). The previous
// image is latest, else fallback-tag, else the newest key's image
// (newest); with push-latest: false, or where latest cannot move, no
// moving tag is kept, and latest is read last, as a tag kept by other
// means or left behind. It returns the previous image's reference when it
// is in the registry, to be layer cache, or "".
func (e *Engine) explain(ctx context.Context, s *state) (cache string) {
	// One retry budget for the step: a registry that fails every read
	// costs one deadline, not one for each of up to maxNewest images.
	ctx = retry.Phase(ctx, retry.Default)
	cfg := &s.plan.Config
	order := []string{"latest", cfg.FallbackTag, newestKey}
	if !cfg.PushLatest || s.latestImmutable != "" {
		order = []string{cfg.FallbackTag, newestKey, "latest"}
	}
	var labels map[string]string
	err, ref := ErrNotFound, ""
	for _, tag := range order {
		switch tag {
		case "":
			continue
		case newestKey:
			if t, l := e.newest(ctx, s); t != "" {
				ref, labels, err = s.Image+":"+t, l, nil
			}
		default:
			ref = s.Image + ":" + tag
			labels, err = e.labels(ctx, s, tag)
			if errors.Is(err, ErrUnsupported) { // no labels: only ask whether the tag is there
				_, err = e.Registry.Lookup(ctx, tag, s.auth)
			}
		}
		if !errors.Is(err, ErrNotFound) {
			break
		}
	}
	switch {
	case err == nil && s.can.Remote:
		cache = ref
	case err != nil && !errors.Is(err, ErrNotFound):
		e.Reporter.Warnf("could not read %s, so it is neither layer cache nor compared with: %v", ref, err)
	}
	if labels == nil {
		e.Reporter.Infof("cache miss: no image for key %s", s.Tag)
		return cache
	}
	s.Previous = ref
	s.Changed = key.Changed(labels[LabelInputs], labels[LabelKey], s.Key)
	e.Reporter.Infof("cache miss: no image for key %s; changed since %s: %s", s.Tag, s.Previous, key.DescribeChanges(s.Changed, 20, func(name string) string { return name }))
	return cache
}

// newestKey stands for the newest key's image in explain's order: no tag
// has this name.
const newestKey = " newest key"

// isKeyTag reports whether t is shaped as a key's tag: key.Length
// lower-case hex digits.
func isKeyTag(t string) bool {
	if len(t) != key.Length {
		return false
	}
	for _, c := range t {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// maxNewest bounds the key images whose labels newest reads.
const maxNewest = 100

// newest finds the newest key's image by its build-started label, where
// neither latest nor fallback-tag is in the registry (a registry with
// immutable tags): it lists the tags and reads the labels of at most
// maxNewest. It returns "" when the registry cannot list or label, or
// holds no image of this cache's making.
func (e *Engine) newest(ctx context.Context, s *state) (tag string, labels map[string]string) {
	if !s.can.Remote || !s.can.Labels {
		return "", nil
	}
	tags, err := e.Registry.ListTags(ctx, s.auth)
	if errors.Is(err, ErrUnsupported) {
		return "", nil
	}
	if err != nil {
		e.Reporter.Warnf("could not list the tags of %s to find the newest key's image: %v", s.Image, err)
		return "", nil
	}
	var keys []string
	for _, t := range tags {
		if t != s.Tag && t != "latest" && t != s.plan.Config.FallbackTag && isKeyTag(t) {
			keys = append(keys, t)
		}
	}
	if len(keys) > maxNewest {
		e.Reporter.Warnf("%s holds %d key tags: the newest of %d of them is layer cache", s.Image, len(keys), maxNewest)
		keys = keys[len(keys)-maxNewest:]
	}
	var newest time.Time
	for _, t := range keys {
		l, err := e.Registry.Labels(ctx, t, s.auth)
		if err != nil {
			continue // pruned meanwhile, or unreadable: not a candidate
		}
		started, ok := parseStarted(l[LabelBuildStarted])
		if ok && l[LabelKey] == t && started.After(newest) {
			tag, labels, newest = t, l, started
		}
	}
	return tag, labels
}

// prepare readies the repository for a push. When latest cannot move
// there, it says so, and the run neither pushes latest nor builds on it
// first.
func (e *Engine) prepare(ctx context.Context, s *state) error {
	e.Reporter.Phase(PhasePrepare, s.Image)
	p, err := e.Registry.Prepare(ctx)
	if err != nil {
		return fmt.Errorf("preparing %s: %w", s.Image, err)
	}
	if s.latestImmutable = p.LatestImmutable; s.latestImmutable != "" && s.plan.Config.PushLatest {
		e.Reporter.Infof("%s: latest is not pushed, and a miss builds on fallback-tag, or on the newest key's image", s.latestImmutable)
	}
	return nil
}

// build builds the plan's image under the key's tag, with cache, the
// previous image in the registry, as layer cache.
func (e *Engine) build(ctx context.Context, s *state, cache string) error {
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
		Getenv:     p.Config.Env,
	}
	if p.Dockerfile == "" {
		spec.Inline = []byte(p.Config.DockerfileInline)
	}
	e.cacheSources(s, &spec, cache)
	if _, err := os.Stat(spec.ContextDir); err != nil {
		return Configf("context %q: %v: set context to an existing directory", spec.ContextDir, err)
	}
	started := time.Now()
	labels[LabelBuildStarted] = formatStarted(started)
	res, err := e.Builder.Build(ctx, spec)
	if errors.Is(err, ErrDenied) || errors.Is(err, ErrImmutable) {
		return e.builderRefused(s, err)
	}
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

// cacheSources gives spec its layer cache. The previous image, cache,
// when it is in the registry, and cache-from are read with either builder (the Docker daemon
// reads their inline cache). A BuildKit host also reads and writes the
// full cache (mode=max) at cache-to, <image>:buildcache by default: it
// pushes during the build, with the credential just fetched. A ref not
// pushed yet is skipped by the builders.
func (e *Engine) cacheSources(s *state, spec *BuildSpec, cache string) {
	p := &s.plan
	if p.BuildKit.Addr != "" {
		spec.CacheTo = CacheRef(s.Image, p.Config.CacheTo)
		e.Reporter.Infof("building on %s, which pushes %s; full layer cache at %s", p.BuildKit.Addr, s.Ref, spec.CacheTo)
	}
	if p.Flags.NoCache {
		return
	}
	if cache != "" {
		spec.CacheFrom = append(spec.CacheFrom, cache)
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
