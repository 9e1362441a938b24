package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Labels written on every image the cache builds.
const (
	LabelKey          = "org.docker-ecr-cache.key"
	LabelInputs       = "org.docker-ecr-cache.inputs"
	LabelBuildStarted = "org.docker-ecr-cache.build-started" // unix seconds
)

// Engine runs the cache for one plan.
type Engine struct {
	Plan     *Plan
	Registry Registry
	Docker   Docker
	Reporter Reporter
	// Builder builds on the BuildKit host the plan names (buildkit-host),
	// and pushes; without one, the Docker daemon builds.
	Builder Builder
}

// state is what the steps of one run learn and share.
type state struct {
	Result
	plan    Plan  // e.Plan, with the platform resolved
	local   Image // the key's image on the daemon, when isLocal
	isLocal bool
	auth    Auth // the lookup's credential
}

// Run computes the key, looks it up, and on a hit hands the image over;
// on a miss it builds and pushes it.
func (e *Engine) Run(ctx context.Context) (Result, error) {
	start := time.Now()
	if e.Plan == nil {
		return Result{}, errors.New("running the cache: no plan (Config.Plan makes one)")
	}
	s := &state{plan: *e.Plan}
	if err := e.key(ctx, s); err != nil {
		return Result{}, err
	}
	if err := e.lookup(ctx, s); err != nil {
		return s.Result, err
	}
	var err error
	switch {
	case s.CacheHit:
		err = e.hit(ctx, s)
	case s.isLocal:
		err = e.pushLocal(ctx, s)
	default:
		err = e.miss(ctx, s)
	}
	if err != nil {
		return s.Result, err
	}
	if s.CacheHit {
		s.Saved = buildTime(s.local)
	}
	if s.Digest == "" {
		s.Digest = localDigest(s.local, s.Image)
	}
	s.Elapsed = time.Since(start)
	return s.Result, nil
}

// key masks the secrets' values and hides the build-args', resolves the
// platform, asking the daemon when the plan gives none (the image is built
// for the platform that is hashed), computes the key and names the image.
func (e *Engine) key(ctx context.Context, s *state) error {
	log := e.Reporter
	for _, sec := range s.plan.Secrets {
		if sec.Env != "" {
			log.Mask(s.plan.Config.getenv(sec.Env))
		}
	}
	for _, a := range s.plan.BuildArgs {
		_, value, _ := strings.Cut(a, "=")
		log.Redact(value)
	}
	log.Phase(PhaseKey, "")
	key, err := computeKey(ctx, &s.plan, func() (string, error) {
		platform, err := e.Docker.Platform(ctx)
		if err != nil {
			return "", fmt.Errorf("asking the Docker daemon for its platform: %w", err)
		}
		log.Infof("platform %s, the Docker daemon's (set platform to choose another)", platform)
		return platform, nil
	})
	if err != nil {
		return err
	}
	for _, in := range key.Inputs {
		log.Infof("  %-40s %s", in.Name, ShortDigest(in.Digest))
	}
	log.Infof("key %s (%d inputs)", key.Tag, len(key.Inputs))

	repo, err := e.Registry.Repository(ctx)
	if err != nil {
		return fmt.Errorf("naming the repository: %w", err)
	}
	s.Result = Result{Image: repo, Tag: key.Tag, Ref: repo + ":" + key.Tag, Key: key}
	return nil
}

// lookup asks the daemon, then the registry, for the key's image. Only
// ErrNotFound from the registry is a miss: a refusal (401, 403), a server
// error or a timeout fails the run.
func (e *Engine) lookup(ctx context.Context, s *state) error {
	img, err := e.Docker.Inspect(ctx, s.Ref)
	switch {
	case err == nil:
		s.local, s.isLocal = img, true
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("inspecting %s: %w", s.Ref, err)
	}
	if !e.Registry.Remote() {
		s.CacheHit = s.isLocal
		return nil
	}
	e.Reporter.Phase(PhaseLookup, s.Ref)
	if s.auth, err = e.Registry.Auth(ctx); err != nil {
		return fmt.Errorf("getting credentials for %s: %w", s.Image, err)
	}
	e.Reporter.Mask(s.auth.Password)
	digest, err := e.Registry.Lookup(ctx, s.Tag, s.auth)
	switch {
	case err == nil:
		s.Digest, s.CacheHit = digest, true
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("looking up %s: %w", s.Ref, err)
	}
	return nil
}

// hit hands over the key's image: pulled, unless it is already on the
// daemon or skip-pull-from-cache is set.
func (e *Engine) hit(ctx context.Context, s *state) error {
	log := e.Reporter
	switch {
	case s.isLocal:
		log.Infof("cache hit: %s is already on this machine, nothing to pull", s.Ref)
		return nil
	case s.plan.Config.SkipPullFromCache:
		log.Infof("cache hit: %s is in the registry; skip-pull-from-cache is set, so it is not pulled", s.Ref)
		return nil
	}
	log.Phase(PhasePull, s.Ref)
	if err := e.Docker.Pull(ctx, s.Ref, s.auth); err != nil {
		return fmt.Errorf("pulling %s: %w", s.Ref, err)
	}
	s.Pulled = true
	img, err := e.Docker.Inspect(ctx, s.Ref)
	if err != nil {
		return fmt.Errorf("inspecting %s after the pull: %w", s.Ref, err)
	}
	s.local = img
	return nil
}

// pushLocal pushes the key's image that was built here before but never
// pushed, rather than build it again.
func (e *Engine) pushLocal(ctx context.Context, s *state) error {
	e.Reporter.Infof("%s is on this machine but not in the registry: pushing it", s.Ref)
	if err := e.prepare(ctx, s); err != nil {
		return err
	}
	if err := e.push(ctx, s); err != nil {
		return err
	}
	s.CacheHit = true
	return nil
}

// miss says what changed since the previous image, builds the key's image
// with the previous one as layer cache, and stores it: pushed to the
// registry, or tagged latest on the daemon for the local provider.
func (e *Engine) miss(ctx context.Context, s *state) error {
	latestStored := e.explain(ctx, s)
	if e.Registry.Remote() {
		if err := e.prepare(ctx, s); err != nil {
			return err
		}
	}
	if err := e.build(ctx, s, latestStored); err != nil {
		return err
	}
	if s.Pushed { // by the builder
		return e.builderPushed(ctx, s)
	}
	if e.Registry.Remote() {
		return e.push(ctx, s)
	}
	if !s.plan.Config.PushLatest {
		return nil
	}
	latest := s.Image + ":latest"
	if err := e.Docker.Tag(ctx, s.Ref, latest); err != nil {
		return fmt.Errorf("tagging %s: %w", latest, err)
	}
	return nil
}

// explain logs the miss and what changed since the previous image (latest).
// It reports whether latest is in the registry, to be layer cache.
func (e *Engine) explain(ctx context.Context, s *state) (latestStored bool) {
	previous := s.Image + ":latest"
	if e.Registry.Remote() {
		_, err := e.Registry.Lookup(ctx, "latest", s.auth)
		latestStored = err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			e.Reporter.Warnf("could not look up %s, so it is not used as layer cache: %v", previous, err)
		}
	}
	if labels, ok := e.previousLabels(ctx, previous, latestStored, s.auth); ok {
		s.Previous = previous
		s.Changed = changedInputs(labels[LabelInputs], s.Key.Inputs)
		e.Reporter.Infof("cache miss: no image for key %s; changed since %s: %s", s.Tag, previous, DescribeChanges(s.Changed, 20, func(name string) string { return name }))
	} else {
		e.Reporter.Infof("cache miss: no image for key %s", s.Tag)
	}
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
	inputs, err := json.Marshal(s.Key.Inputs)
	if err != nil {
		return fmt.Errorf("recording the key's inputs: %w", err)
	}
	labels := map[string]string{LabelKey: s.Tag, LabelInputs: string(inputs)}
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
	// Only an image that exists can be layer cache: asking first keeps a
	// scary "not found" out of the first build's log.
	if err := e.cacheSources(ctx, s, &spec, latestStored); err != nil {
		return err
	}
	builder, err := e.builder(s)
	if err != nil {
		return err
	}
	if _, err := os.Stat(spec.ContextDir); err != nil {
		return Configf("context %q: %v: set context to an existing directory", spec.ContextDir, err)
	}
	started := time.Now()
	labels[LabelBuildStarted] = strconv.FormatInt(started.Unix(), 10)
	res, err := builder.Build(ctx, spec)
	if err != nil {
		return &BuildError{Ref: s.Ref, Dockerfile: spec.Dockerfile, Err: err}
	}
	s.Built = true
	log.Infof("built %s in %s", s.Ref, time.Since(started).Round(100*time.Millisecond))
	if res.Pushed {
		s.Digest, s.Pushed = res.Digest, true
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

// BuildError is a failed image build. Front ends use Dockerfile to point
// at the file, for example in a GitHub annotation.
type BuildError struct {
	Ref        string
	Dockerfile string // path on disk; empty with dockerfile-inline
	Err        error
}

func (e *BuildError) Error() string { return fmt.Sprintf("building %s: %v", e.Ref, e.Err) }
func (e *BuildError) Unwrap() error { return e.Err }

// previousLabels reads the labels of the previous image, from the daemon or
// else from the registry, to say what changed. It is best effort.
func (e *Engine) previousLabels(ctx context.Context, ref string, stored bool, auth Auth) (map[string]string, bool) {
	if img, err := e.Docker.Inspect(ctx, ref); err == nil {
		return img.Labels, true
	}
	if lr, ok := e.Registry.(LabelReader); ok && stored {
		labels, err := lr.Labels(ctx, "latest", auth)
		if err != nil {
			e.Reporter.Warnf("could not read %s to say what changed: %v", ref, err)
			return nil, false
		}
		return labels, true
	}
	return nil, false
}

// push pushes the key tag, then moves latest: latest never points at an
// image whose key tag is not in the registry.
func (e *Engine) push(ctx context.Context, s *state) error {
	log := e.Reporter
	log.Phase(PhasePush, s.Ref)
	// Ask again: a long build can outlast a short-lived token, and providers
	// hand back the one they hold while it is still good.
	auth, err := e.Registry.Auth(ctx)
	if err != nil {
		return fmt.Errorf("getting credentials to push %s: %w", s.Ref, err)
	}
	log.Mask(auth.Password)
	digest, err := e.Docker.Push(ctx, s.Ref, auth)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", s.Ref, err)
	}
	s.Digest, s.Pushed = digest, true
	if !s.plan.Config.PushLatest {
		return nil
	}
	latest := s.Image + ":latest"
	if err := e.Docker.Tag(ctx, s.Ref, latest); err != nil {
		return fmt.Errorf("tagging %s: %w", latest, err)
	}
	if _, err := e.Docker.Push(ctx, latest, auth); err != nil {
		return fmt.Errorf("pushing %s: %w", latest, err)
	}
	return nil
}

// buildTime is how long img took to build: from the start recorded in its
// labels to its creation time.
func buildTime(img Image) time.Duration {
	started, err := strconv.ParseInt(img.Labels[LabelBuildStarted], 10, 64)
	if err != nil || img.Created.IsZero() {
		return 0
	}
	return max(img.Created.Sub(time.Unix(started, 0)), 0)
}

func localDigest(img Image, repo string) string {
	for _, d := range img.RepoDigests {
		if name, dg, ok := strings.Cut(d, "@"); ok && name == repo {
			return dg
		}
	}
	return img.ID
}

// changedInputs compares the inputs recorded on a previous image with now,
// sorted by input name.
func changedInputs(recorded string, now []Input) []Change {
	var before []Input
	if json.Unmarshal([]byte(recorded), &before) != nil {
		return nil
	}
	old := map[string]string{}
	for _, in := range before {
		old[in.Name] = in.Digest
	}
	var changed []Change
	for _, in := range now {
		d, ok := old[in.Name]
		switch {
		case !ok:
			changed = append(changed, Change{Added, in.Name})
		case d != in.Digest:
			changed = append(changed, Change{Modified, in.Name})
		}
		delete(old, in.Name)
	}
	for name := range old {
		changed = append(changed, Change{Removed, name})
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Input < changed[j].Input })
	return changed
}

// ShortDigest is a digest's algorithm and first 12 hex digits.
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// Summary is the one-line outcome of a run.
func Summary(r Result) string {
	switch {
	case r.CacheHit && r.Saved > 0:
		return fmt.Sprintf("cache hit: %s in %s, saving a %s build", r.Ref, r.Elapsed.Round(time.Millisecond), r.Saved.Round(100*time.Millisecond))
	case r.CacheHit:
		return fmt.Sprintf("cache hit: %s in %s", r.Ref, r.Elapsed.Round(time.Millisecond))
	default:
		return fmt.Sprintf("cache miss: built and stored %s in %s", r.Ref, r.Elapsed.Round(100*time.Millisecond))
	}
}
