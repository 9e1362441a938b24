package engine

import (
	"context"
	"errors"
)

// vanished reports whether a hit's pull failed because the image was
// deleted from the registry after the lookup, as a prune does to an old
// key: the run then goes on as a miss, and builds the key again. The pull
// of a digest is all or nothing, so no broken image is left.
func (e *Engine) vanished(ctx context.Context, s *state) bool {
	if !s.can.Remote || s.Pulled || ctx.Err() != nil || s.Digest == "" {
		return false
	}
	if _, err := e.Registry.Lookup(ctx, s.Tag, s.auth); !errors.Is(err, ErrNotFound) {
		return false
	}
	e.Reporter.Warnf("%s@%s was deleted from the registry between the lookup and the pull (a prune of old keys?): building it as a miss", s.Ref, s.Digest)
	s.CacheHit, s.Digest = false, ""
	return true
}
