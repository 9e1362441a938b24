package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
)

// lookup asks the daemon (when one answers), then the registry, for the key's image. Only
// ErrNotFound from the registry is a miss: a refusal (401, 403), a server
// error or a timeout fails the run.
func (e *Engine) lookup(ctx context.Context, s *state) error {
	if s.daemon {
		img, err := e.Docker.Inspect(ctx, s.Ref)
		switch {
		case err == nil:
			s.local, s.isLocal = img, true
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("inspecting %s: %w", s.Ref, err)
		}
	}
	if !s.can.Remote {
		s.CacheHit = s.isLocal && s.labelled()
		return nil
	}
	e.Reporter.Phase(PhaseLookup, s.Ref)
	if err := e.auth(ctx, s); err != nil {
		return err
	}
	digest, err := e.Registry.Lookup(ctx, s.Tag, s.auth)
	switch {
	case err == nil:
		s.Digest, s.CacheHit = digest, true
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("looking up %s: %w", s.Ref, err)
	}
	return nil
}

// auth fetches the registry's credential into s.auth and masks it: the
// password, an identity token, and the base64 user:password that Docker
// configs and ECR's token hold. It runs at the lookup, and again after a
// build: a build can outlast a short-lived token, and providers hand back
// the one they hold while it is still good.
func (e *Engine) auth(ctx context.Context, s *state) error {
	auth, err := e.Registry.Auth(ctx)
	if err != nil {
		return fmt.Errorf("getting credentials for %s: %w", s.Image, err)
	}
	for _, secret := range []string{auth.Password, auth.IdentityToken} {
		if secret != "" {
			e.Reporter.Mask(secret)
		}
	}
	if auth.Username != "" && auth.Password != "" {
		e.Reporter.Mask(base64.StdEncoding.EncodeToString([]byte(auth.Username + ":" + auth.Password)))
	}
	s.auth = auth
	return nil
}
