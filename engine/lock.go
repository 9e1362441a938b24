package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildlock"
)

// lock takes the machine's build lock of the key's image, so that runs
// that miss the same key at once build it once. A run that waited for
// another's build looks the key up again and, when the other run stored
// it, takes it as a hit (s.CacheHit). A run that waited lock-timeout in
// vain builds anyway and says so. release is never nil.
func (e *Engine) lock(ctx context.Context, s *state) (release func(), err error) {
	log, r := e.Reporter, &s.plan.Reliability
	release, waited, err := buildlock.Acquire(ctx, r.LockDir, s.Ref, r.LockTimeout, func() {
		log.Phase(PhaseWait, "")
		log.Infof("another run on this machine is building %s: waiting up to %s for it (lock-timeout)", s.Ref, r.LockTimeout)
	})
	switch {
	case err == nil && !waited:
		return release, nil
	case err == nil: // the other run is done: see what it stored
	case errors.Is(err, buildlock.ErrTimeout):
		log.Warnf("another run on this machine has been building %s for more than %s (lock-timeout): building it here too", s.Ref, r.LockTimeout)
		return func() {}, nil
	case ctx.Err() != nil:
		return func() {}, fmt.Errorf("waiting for another run's build of %s: %w", s.Ref, ctx.Err())
	default:
		log.Warnf("could not take the build lock of %s, so another run on this machine may build it too: %v", s.Ref, err)
		return func() {}, nil
	}
	if err := e.lookup(ctx, s); err != nil {
		release()
		return func() {}, err
	}
	if s.CacheHit {
		log.Infof("cache hit: another run on this machine built %s while this one waited", s.Ref)
	} else {
		log.Infof("the run this one waited for did not store %s: building it here", s.Ref)
	}
	return release, nil
}
