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

	"github.com/distribution/reference"
)

// Labels written on every image the cache builds.
const (
	LabelKey          = "org.docker-ecr-cache.key"
	LabelInputs       = "org.docker-ecr-cache.inputs"
	LabelBuildStarted = "org.docker-ecr-cache.build-started" // unix seconds, with nanoseconds after a point
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
		if err = e.hit(ctx, s); err != nil && e.vanished(ctx, s) {
			err = e.miss(ctx, s)
		}
	case s.isLocal && s.labelled():
		err = e.pushLocal(ctx, s)
	default:
		if s.isLocal {
			e.Reporter.Warnf("%s is on this machine, but its %s label is %q, not the key: it is neither used nor pushed, and is built again",
				s.Ref, LabelKey, s.local.Labels[LabelKey])
		}
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

// key masks the secrets' values, resolves the platform, asking the daemon
// when the plan gives none (the image is built for the platform that is
// hashed), computes the key and names the image.
func (e *Engine) key(ctx context.Context, s *state) error {
	log := e.Reporter
	for _, v := range s.plan.SecretValues() {
		log.Mask(v)
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
	for _, in := range PublishedInputs(key.Inputs) {
		d := ShortDigest(in.Digest)
		if d == "" {
			d = "(value not shown)"
		}
		log.Infof("  %-40s %s", EscapeControl(in.Name), d)
	}
	log.Infof("key %s (%d inputs)", key.Tag, len(key.Inputs))

	repo, err := e.Registry.Repository(ctx)
	if err != nil {
		return fmt.Errorf("naming the repository: %w", err)
	}
	s.Result = Result{Image: repo, Tag: key.Tag, Ref: repo + ":" + key.Tag, Key: key}
	// The provider completes the name (an ECR account's host): check it
	// as Validate checked the options, before the daemon sees it.
	return ValidateReference(s.Ref)
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
		s.CacheHit = s.isLocal && s.labelled()
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
// daemon, verified, or skip-pull-from-cache is set. A local image is
// trusted only when its key label is the key and it was pushed to or
// pulled from the registry with the digest the registry holds now; any
// other is replaced by the registry's, also with skip-pull-from-cache, so
// that the job never runs an image that only this machine vouches for.
// The pull is by that digest, then tagged, so the tag cannot move between
// the lookup and the pull.
func (e *Engine) hit(ctx context.Context, s *state) error {
	log := e.Reporter
	switch {
	case !e.Registry.Remote():
		log.Infof("cache hit: %s is on this machine", s.Ref)
		return nil
	case s.isLocal && s.labelled() && hasRepoDigest(s.local, s.Image, s.Digest):
		log.Infof("cache hit: %s is already on this machine, with the registry's digest %s: nothing to pull", s.Ref, s.Digest)
		return nil
	case s.isLocal:
		log.Warnf("%s on this machine is not the registry's %s: pulling the registry's over it", s.Ref, s.Digest)
	case s.plan.Config.SkipPullFromCache:
		log.Infof("cache hit: %s is in the registry; skip-pull-from-cache is set, so it is not pulled", s.Ref)
		return nil
	}
	return e.pull(ctx, s, s.auth)
}

// pull pulls the key's image by the digest the registry holds (s.Digest),
// then tags it with the key: the tag cannot move between the lookup and
// the pull.
func (e *Engine) pull(ctx context.Context, s *state, auth Auth) error {
	e.Reporter.Phase(PhasePull, s.Ref)
	byDigest := s.Image + "@" + s.Digest
	if err := ValidateReference(byDigest); err != nil {
		return fmt.Errorf("pulling %s: the registry's digest: %w", s.Ref, err)
	}
	if err := e.Docker.Pull(ctx, byDigest, auth); err != nil {
		return fmt.Errorf("pulling %s: %w", byDigest, err)
	}
	if err := e.Docker.Tag(ctx, byDigest, s.Ref); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", byDigest, s.Ref, err)
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
// pushed, rather than build it again. Run calls it only when the image's
// key label is the key.
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
// registry, or tagged latest on the daemon for the local provider. It
// holds the machine's build lock of the key meanwhile: a run that waited
// for another's build takes its image instead.
func (e *Engine) miss(ctx context.Context, s *state) error {
	release, err := e.lock(ctx, s)
	if err != nil {
		return err
	}
	defer release()
	switch {
	case s.CacheHit:
		return e.hit(ctx, s)
	case s.isLocal && s.labelled():
		return e.pushLocal(ctx, s)
	}
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
	if !s.plan.Config.PushLatest || !e.latestIsOlder(ctx, s, s.auth) {
		return nil
	}
	latest := s.Image + ":latest"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not tagging %s: %w", latest, err)
	}
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
		s.Changed = changedInputs(labels, s.Key)
		e.Reporter.Infof("cache miss: no image for key %s; changed since %s: %s", s.Tag, previous, DescribeChanges(s.Changed, 20, EscapeControl))
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
	inputs, err := json.Marshal(PublishedInputs(s.Key.Inputs))
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
	labels[LabelBuildStarted] = formatStarted(started)
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
// image whose key tag is not in the registry, nor moves back to an older
// build. The digest exported is the one the registry holds after the push:
// another agent may have pushed the same key since. Nothing is pushed once
// ctx is done.
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
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not pushing %s: %w", s.Ref, err)
	}
	digest, err := e.Docker.Push(ctx, s.Ref, auth)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", s.Ref, err)
	}
	s.Pushed = true
	if s.Digest, err = e.held(ctx, s, digest, auth); err != nil {
		return err
	}
	if !s.plan.Config.PushLatest || !e.latestIsOlder(ctx, s, auth) {
		return nil
	}
	latest := s.Image + ":latest"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not moving %s: %w", latest, err)
	}
	if err := e.Docker.Tag(ctx, s.Ref, latest); err != nil {
		return fmt.Errorf("tagging %s: %w", latest, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not pushing %s: %w", latest, err)
	}
	if _, err := e.Docker.Push(ctx, latest, auth); err != nil {
		return fmt.Errorf("pushing %s: %w", latest, err)
	}
	return nil
}

// buildTime is how long img took to build: from the start recorded in its
// labels to its creation time.
func buildTime(img Image) time.Duration {
	started, ok := parseStarted(img.Labels[LabelBuildStarted])
	if !ok || img.Created.IsZero() {
		return 0
	}
	return max(img.Created.Sub(started), 0)
}

// formatStarted writes a build's start for LabelBuildStarted: unix seconds,
// then nanoseconds after a point, so that builds of one second are ordered.
func formatStarted(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// parseStarted reads LabelBuildStarted, also as older images wrote it
// (whole seconds).
func parseStarted(s string) (time.Time, bool) {
	sec, frac, hasFrac := strings.Cut(s, ".")
	unix, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac {
		if len(frac) != 9 {
			return time.Time{}, false
		}
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 {
			return time.Time{}, false
		}
	}
	return time.Unix(unix, nsec), true
}

// labelled reports whether the local image carries the key as its label.
func (s *state) labelled() bool { return s.local.Labels[LabelKey] == s.Tag }

// hasRepoDigest reports whether img was pushed to or pulled from repo with
// the manifest digest digest.
func hasRepoDigest(img Image, repo, digest string) bool {
	return digest != "" && slices.Contains(repoDigests(img, repo), digest)
}

// repoDigests are the manifest digests img has in repo. The daemon writes
// Docker Hub names short (org/name), so names are compared normalized.
func repoDigests(img Image, repo string) []string {
	want, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range img.RepoDigests {
		ref, err := reference.ParseNormalizedNamed(d)
		if err != nil {
			continue
		}
		if dg, ok := ref.(reference.Digested); ok && ref.Name() == want.Name() {
			out = append(out, dg.Digest().String())
		}
	}
	return out
}

func localDigest(img Image, repo string) string {
	if d := repoDigests(img, repo); len(d) > 0 {
		return d[0]
	}
	return img.ID
}

// changedInputs compares the inputs recorded on a previous image (its
// labels) with now's key, sorted by input name. Build args are compared by
// name: their values are never recorded. When no recorded input differs
// but the recorded key does, and there are build args, their values
// changed: that is said by elimination.
func changedInputs(labels map[string]string, now Key) []Change {
	var before []Input
	if json.Unmarshal([]byte(labels[LabelInputs]), &before) != nil {
		return nil
	}
	old := map[string]string{}
	for _, in := range PublishedInputs(before) {
		old[in.Name] = in.Digest
	}
	var changed []Change
	buildArgs := false
	for _, in := range PublishedInputs(now.Inputs) {
		buildArgs = buildArgs || strings.HasPrefix(in.Name, BuildArgInput)
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
	if len(changed) == 0 && buildArgs && labels[LabelKey] != "" && labels[LabelKey] != now.Tag {
		changed = append(changed, Change{Unrecorded, BuildArgValues})
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
