package engine

import (
	"context"
	"fmt"
)

// A run is daemonless when its Docker is a Pinger and no daemon answers
// (Kubernetes runners have none): a hit needs only the registry, and is
// handed over by reference with nothing pulled; a miss is built on
// buildkit-host, which pushes; the platform hashed is the plan's, else the
// BuildKit workers', else this machine's. When a daemon answers, nothing
// here changes the run.

// ping asks once, at the start, whether a daemon answers, and records the
// answer in s.daemon. The local provider keeps its images on the daemon,
// so it refuses a daemonless run.
func (e *Engine) ping(ctx context.Context, s *state) error {
	s.daemon = true
	p, ok := e.Docker.(Pinger)
	if !ok {
		return nil
	}
	err := p.Ping(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	s.daemon, s.noDaemon = false, err
	if !s.can.Remote {
		return noWay(s, "registry-provider local keeps its images on the Docker daemon")
	}
	how := "a miss is built on buildkit-host " + s.plan.BuildKit.Addr
	if s.plan.BuildKit.Addr == "" {
		how = "a miss cannot be built, as no buildkit-host is set"
	}
	e.Reporter.Infof("daemonless: %v; a hit is handed over from the registry by reference, and %s", err, how)
	return nil
}

// canBuild refuses a miss that nothing can build: no daemon answers and
// no buildkit-host is set.
func (e *Engine) canBuild(s *state) error {
	if s.daemon || s.plan.BuildKit.Addr != "" {
		return nil
	}
	return noWay(s, fmt.Sprintf("no image has key %s, and there is nothing to build it on", s.Tag))
}

// noWay is the runtime error (exit 1) of a daemonless run that needs what
// only a builder or a daemon gives, naming the two ways to give one.
func noWay(s *state, what string) error {
	return fmt.Errorf("%s: %w; give the job one of two ways to build: buildkit-host, a BuildKit daemon that builds and pushes (tcp:// or unix://), "+
		"or a Docker daemon, as a Docker-in-Docker service (DOCKER_HOST=tcp://docker:2375) or the host's socket mounted (/var/run/docker.sock); "+
		"registry-provider local needs the daemon in any case, and cannot hand an image to another job",
		what, s.noDaemon)
}

// daemonlessPlatform is where a daemonless run's platform comes from when
// the plan gives none: the BuildKit workers' with buildkit-host, which
// builds a miss for it, else this machine's, which later jobs on this
// runner run; on a machine where both are asked, they agree with the
// daemon's.
func (e *Engine) daemonlessPlatform(s *state) (ask func(context.Context) (string, error), from, whose string) {
	if b, ok := e.Builder.(PlatformBuilder); ok && s.plan.BuildKit.Addr != "" {
		return b.Platform, "buildkit-host " + s.plan.BuildKit.Addr, "the BuildKit workers' at " + s.plan.BuildKit.Addr + " (no Docker daemon)"
	}
	return func(context.Context) (string, error) { return DefaultPlatform(), nil },
		"this machine", "this machine's (no Docker daemon, and no buildkit-host)"
}
