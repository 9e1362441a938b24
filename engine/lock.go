package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildlock"
)

// lock takes the machine's build lock of ref, so that runs that miss the
// same key at once build it once. waited says that another run held it:
// the caller looks the key up again. A run that waited lock-timeout in
// vain builds anyway and says so. release is never nil.
func (e *Engine) lock(ctx context.Context, ref string) (release func(), waited bool, err error) {
	log, r := e.Reporter, &e.Plan.Reliability
	release, waited, err = buildlock.Acquire(ctx, r.LockDir, ref, r.LockTimeout, func() {
		log.Phase(PhaseWait, "")
		log.Infof("another run on this machine is building %s: waiting up to %s for it (lock-timeout)", ref, r.LockTimeout)
	})
	switch {
	case err == nil:
		return release, waited, nil
	case errors.Is(err, buildlock.ErrTimeout):
		log.Warnf("another run on this machine has been building %s for more than %s (lock-timeout): building it here too", ref, r.LockTimeout)
		return func() {}, false, nil
	case ctx.Err() != nil:
		return func() {}, false, fmt.Errorf("waiting for another run's build of %s: %w", ref, ctx.Err())
	default:
		log.Warnf("could not take the build lock of %s, so another run on this machine may build it too: %v", ref, err)
		return func() {}, false, nil
	}
}
