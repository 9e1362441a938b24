package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// Engine runs the cache for one configuration.
type Engine struct {
	Config   Config
	Registry Registry
	Docker   Docker
	Reporter Reporter
}

// Run computes the key, looks it up, and builds and pushes on a miss.
func (e *Engine) Run(ctx context.Context) (Result, error) {
	start := time.Now()
	c := &e.Config
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	log := e.Reporter
	flags, err := ParseBuildFlags(c.AdditionalBuildArgs)
	if err != nil {
		return Result{}, err
	}

	for _, a := range c.ResolvedBuildArgs(flags) {
		_, value, _ := strings.Cut(a, "=")
		log.Redact(value)
	}

	log.Phase(PhaseKey, "")
	key, err := computeKey(ctx, c, flags)
	if err != nil {
		return Result{}, err
	}
	for _, in := range key.Inputs {
		log.Infof("  %-40s %s", in.Name, ShortDigest(in.Digest))
	}
	log.Infof("key %s (%d inputs)", key.Tag, len(key.Inputs))

	repo, err := e.Registry.Repository(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Image: repo, Tag: key.Tag, Ref: repo + ":" + key.Tag, Key: key}

	local, err := e.Docker.Inspect(ctx, res.Ref)
	isLocal := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("inspecting %s: %w", res.Ref, err)
	}

	var auth Auth
	if e.Registry.Remote() {
		log.Phase(PhaseLookup, res.Ref)
		if auth, err = e.Registry.Auth(ctx); err != nil {
			return res, err
		}
		log.Mask(auth.Password)
		res.Digest, err = e.Registry.Lookup(ctx, key.Tag, auth)
		switch {
		case err == nil:
			res.CacheHit = true
		case errors.Is(err, ErrNotFound):
		default:
			return res, err
		}
	} else {
		res.CacheHit = isLocal
	}

	switch {
	case res.CacheHit && isLocal:
		log.Infof("cache hit: %s is already on this machine, nothing to pull", res.Ref)
	case res.CacheHit && c.SkipPullFromCache:
		log.Infof("cache hit: %s is in the registry; skip-pull-from-cache is set, so it is not pulled", res.Ref)
	case res.CacheHit:
		log.Phase(PhasePull, res.Ref)
		if err := e.Docker.Pull(ctx, res.Ref, auth); err != nil {
			return res, fmt.Errorf("pulling %s: %w", res.Ref, err)
		}
		res.Pulled = true
		if local, err = e.Docker.Inspect(ctx, res.Ref); err != nil {
			return res, fmt.Errorf("inspecting %s after the pull: %w", res.Ref, err)
		}
	case isLocal:
		// Built here before but never pushed: push it rather than rebuild.
		log.Infof("%s is on this machine but not in the registry: pushing it", res.Ref)
		if err := e.Registry.Prepare(ctx); err != nil {
			return res, err
		}
		if err := e.push(ctx, &res); err != nil {
			return res, err
		}
		res.CacheHit = true
	default:
		if err := e.build(ctx, &res, auth, flags); err != nil {
			return res, err
		}
		if local, err = e.Docker.Inspect(ctx, res.Ref); err != nil {
			return res, fmt.Errorf("inspecting %s after the build: %w", res.Ref, err)
		}
	}

	if res.CacheHit {
		res.Saved = buildTime(local)
	}
	if res.Digest == "" {
		res.Digest = localDigest(local, repo)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// build builds the image for a miss, with flags parsed from
// additional-build-args, and pushes it.
func (e *Engine) build(ctx context.Context, res *Result, auth Auth, flags BuildFlags) error {
	c, log := &e.Config, e.Reporter
	previous := res.Image + ":latest"
	latestStored := false
	if e.Registry.Remote() {
		_, err := e.Registry.Lookup(ctx, "latest", auth)
		latestStored = err == nil
	}
	if labels, ok := e.previousLabels(ctx, previous, latestStored, auth); ok {
		res.Previous = previous
		res.Changed = changedInputs(labels[LabelInputs], res.Key.Inputs)
		log.Infof("cache miss: no image for key %s; changed since %s: %s", res.Key.Tag, previous, DescribeChanges(res.Changed, 20, func(name string) string { return name }))
	} else {
		log.Infof("cache miss: no image for key %s", res.Key.Tag)
	}

	if e.Registry.Remote() {
		log.Phase(PhasePrepare, res.Image)
		if err := e.Registry.Prepare(ctx); err != nil {
			return err
		}
	}

	log.Phase(PhaseBuild, res.Ref)
	var secrets []Secret
	for _, s := range c.Secrets {
		sec, err := ParseSecret(s, c.getenv)
		if err != nil {
			return err
		}
		if sec.Src != "" {
			sec.Src = c.Path(sec.Src)
		}
		secrets = append(secrets, sec)
	}
	inputs, err := json.Marshal(res.Key.Inputs)
	if err != nil {
		return err
	}
	labels := map[string]string{LabelKey: res.Key.Tag, LabelInputs: string(inputs)}
	spec := BuildSpec{
		ContextDir: c.ContextDir(),
		Target:     c.Target,
		Platform:   c.Platform, // else Flags.Platform, else the daemon's
		BuildArgs:  append(c.ResolvedBuildArgs(flags), "BUILDKIT_INLINE_CACHE=1"),
		Secrets:    secrets,
		Flags:      flags,
		Tags:       []string{res.Ref},
		Labels:     labels,
		Auth:       auth,
		Getenv:     c.getenv,
		WorkDir:    c.WorkDir,
	}
	if c.DockerfileInline != "" {
		spec.Inline = []byte(c.DockerfileInline)
	} else {
		spec.Dockerfile = c.DockerfilePath()
	}
	// Only an image that exists can be layer cache: asking first keeps a
	// scary "not found" out of the first build's log.
	if latestStored && !flags.NoCache {
		spec.CacheFrom = []string{previous}
		log.Infof("using %s as layer cache", previous)
	}
	if _, err := os.Stat(spec.ContextDir); err != nil {
		return Configf("context %q: %v: set context to an existing directory", spec.ContextDir, err)
	}
	started := time.Now()
	labels[LabelBuildStarted] = strconv.FormatInt(started.Unix(), 10)
	if _, err := e.Docker.Build(ctx, spec); err != nil {
		return &BuildError{Ref: res.Ref, Dockerfile: spec.Dockerfile, Err: err}
	}
	took := time.Since(started)
	res.Built = true
	log.Infof("built %s in %s", res.Ref, took.Round(100*time.Millisecond))

	if !e.Registry.Remote() {
		if !c.PushLatest {
			return nil
		}
		if err := e.Docker.Tag(ctx, res.Ref, previous); err != nil {
			return fmt.Errorf("tagging %s: %w", previous, err)
		}
		return nil
	}
	return e.push(ctx, res)
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
func (e *Engine) push(ctx context.Context, res *Result) error {
	log := e.Reporter
	log.Phase(PhasePush, res.Ref)
	// Ask again: a long build can outlast a short-lived token, and providers
	// hand back the one they hold while it is still good.
	auth, err := e.Registry.Auth(ctx)
	if err != nil {
		return err
	}
	log.Mask(auth.Password)
	digest, err := e.Docker.Push(ctx, res.Ref, auth)
	if err != nil {
		return fmt.Errorf("pushing %s: %w", res.Ref, err)
	}
	res.Digest, res.Pushed = digest, true
	if !e.Config.PushLatest {
		return nil
	}
	latest := res.Image + ":latest"
	if err := e.Docker.Tag(ctx, res.Ref, latest); err != nil {
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
