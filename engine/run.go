package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// Engine runs the cache for one plan.
type Engine struct {
	Plan     *Plan
	Registry Registry
	// Docker is the job's Docker daemon. When it is a Pinger and no daemon
	// answers, the run is daemonless (see daemonless.go).
	Docker Docker
	// Builder builds a miss: the Docker daemon, or the BuildKit host the
	// plan names (buildkit-host), which pushes.
	Builder  Builder
	Reporter Reporter
}

// state is what the steps of one run learn and share. Only the run's own
// files (run, lookup, hit, miss, push, and daemonless and vanished for
// its corners) use it.
type state struct {
	Result
	plan    Plan // e.Plan, with the platform resolved
	can     Capabilities
	local   Image // the key's image on the daemon, when isLocal
	isLocal bool
	auth    Auth // the registry credential, fetched by the auth step
	// byBuilder: the builder pushed the key tag itself (a BuildKit host).
	byBuilder bool
	// daemon: a Docker daemon answers. Without one, nothing is asked of
	// e.Docker; noDaemon says why none answers.
	daemon   bool
	noDaemon error
	// latestImmutable: why the repository refuses to move latest, from
	// Prepare, or "".
	latestImmutable string
}

// latest is the image's latest tag.
func (s *state) latest() string { return s.Image + ":latest" }

// way is what a run does with the key once it is looked up.
type way int

const (
	build     way = iota // build it, and store it
	take                 // a hit: hand it over
	pushLocal            // built here before but never pushed: push it
)

// way decides hit or miss from the lookup: one decision, made again after
// waiting on another run's build.
func (s *state) way() way {
	switch {
	case !s.plan.Config.Restore:
		return build
	case s.CacheHit:
		return take
	case s.isLocal && s.labelled():
		return pushLocal
	}
	return build
}

// labelled reports whether the local image carries the key as its label.
func (s *state) labelled() bool { return s.local.Labels[LabelKey] == s.Tag }

// Run computes the key, looks it up, and on a hit hands the image over;
// on a miss it builds and stores it.
func (e *Engine) Run(ctx context.Context) (Result, error) {
	start := time.Now()
	if e.Plan == nil {
		return Result{}, errors.New("running the cache: no plan (Config.Plan makes one)")
	}
	s := &state{plan: *e.Plan}
	if err := e.check(s); err != nil {
		return Result{}, err
	}
	if err := e.ping(ctx, s); err != nil {
		return Result{}, err
	}
	if err := e.key(ctx, s); err != nil {
		return Result{}, err
	}
	if err := e.lookup(ctx, s); err != nil {
		return s.Result, err
	}
	w := s.way()
	if w == build {
		release, waited, err := e.lock(ctx, s.Ref)
		if err != nil {
			return s.Result, err
		}
		defer release()
		if waited { // the other run is done: see what it stored
			if err := e.lookup(ctx, s); err != nil {
				return s.Result, err
			}
			if w = s.way(); w == build {
				e.Reporter.Infof("the run this one waited for did not store %s: building it here", s.Ref)
			} else {
				e.Reporter.Infof("cache hit: another run on this machine built %s while this one waited", s.Ref)
			}
		}
	}
	var err error
	switch w {
	case take:
		if err = e.hit(ctx, s); err != nil && e.vanished(ctx, s) {
			err = e.miss(ctx, s)
		}
	case pushLocal:
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

// check refuses, before the run's first step, a plan that the registry
// provider cannot carry out, rather than fail after a build or a push.
func (e *Engine) check(s *state) error {
	if e.Registry == nil || e.Docker == nil || e.Builder == nil || e.Reporter == nil {
		return errors.New("running the cache: the engine needs a registry, a Docker daemon, a builder and a reporter")
	}
	s.can = e.Registry.Can()
	cfg := &s.plan.Config
	switch {
	case !s.can.Remote || !cfg.PushLatest:
	case !s.can.Labels:
		return Configf("push-latest: registry-provider %s cannot read an image's labels, so latest could move back to an older build: set push-latest: false", cfg.RegistryProvider)
	case s.plan.BuildKit.Addr != "" && !s.can.Tag:
		return Configf("push-latest: registry-provider %s cannot tag an image in the registry, which buildkit-host needs to move latest after it pushed: set push-latest: false, or build on the Docker daemon", cfg.RegistryProvider)
	}
	return nil
}

// key masks the secrets' values, resolves the platform, computes the key
// and names the image. When the plan gives no platform, the daemon is
// asked for its own while the files are hashed: the image is built for the
// platform that is hashed.
func (e *Engine) key(ctx context.Context, s *state) error {
	log := e.Reporter
	for _, v := range s.plan.SecretValues() {
		log.Mask(v)
	}
	log.Phase(PhaseKey, "")
	platform, stop := e.platform(ctx, s)
	k, err := computeKey(ctx, &s.plan, platform)
	stop()
	if err != nil {
		return err
	}
	logInputs(log, k, s.plan.Config.Verbose)

	repo, err := e.Registry.Repository(ctx)
	if err != nil {
		return fmt.Errorf("naming the repository: %w", err)
	}
	s.Result = Result{Image: repo, Tag: k.Tag, Ref: repo + ":" + k.Tag, Key: k}
	// The provider completes the name (an ECR account's host): check it
	// as Validate checked the options, before the daemon sees it.
	return ValidateReference(s.Ref)
}

// platform starts asking for the platform when the plan gives none, and
// returns the answer's reader; stop ends an ask not waited for. The daemon
// is asked; without one, the BuildKit host's workers, else this machine
// (daemonPlatform).
func (e *Engine) platform(ctx context.Context, s *state) (platform func() (string, error), stop func()) {
	if given := s.plan.Platform; given != "" {
		return func() (string, error) { return given, nil }, func() {}
	}
	ask, from, whose := e.Docker.Platform, "the Docker daemon", "the Docker daemon's"
	if !s.daemon {
		ask, from, whose = e.daemonlessPlatform(s)
	}
	ctx, cancel := context.WithCancel(ctx)
	type answer struct {
		platform string
		err      error
	}
	ch := make(chan answer, 1)
	go func() {
		p, err := ask(ctx)
		ch <- answer{p, err}
	}()
	return func() (string, error) {
		a := <-ch
		if a.err != nil {
			return "", fmt.Errorf("asking %s for its platform: %w", from, a.err)
		}
		e.Reporter.Infof("platform %s, %s (set platform to choose another)", a.platform, whose)
		return a.platform, nil
	}, cancel
}

// logInputs prints the key's inputs: one line each, but one line per
// cache-on entry (its file count and digest), its files one by one only if
// verbose.
func logInputs(log Reporter, k key.Key, verbose bool) {
	inputs := key.PublishedInputs(k.Inputs)
	line := func(in key.Input) {
		d := ShortDigest(in.Digest)
		if d == "" {
			d = "(value not shown)"
		}
		log.Infof("  %-40s %s", in.Name, d)
	}
	inPattern := make([]bool, len(inputs))
	for _, p := range k.CacheOn {
		for _, i := range p.Inputs {
			inPattern[i] = true
		}
	}
	for i, in := range inputs {
		if !inPattern[i] {
			line(in)
		}
	}
	for i, sum := range key.Summaries(k) {
		files := "files"
		if sum.Files == 1 {
			files = "file"
		}
		log.Infof("  %-40s %s (%d %s)", key.PatternInput+sum.Entry, ShortDigest(sum.Digest), sum.Files, files)
		if verbose {
			for _, j := range k.CacheOn[i].Inputs {
				line(inputs[j])
			}
		}
	}
	log.Infof("key %s (%d inputs)", k.Tag, len(k.Inputs))
}
