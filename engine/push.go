package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// push pushes the key tag, then moves latest: latest never points at an
// image whose key tag is not in the registry, nor moves back to an older
// build. The digest exported is the one the registry holds after the push:
// another agent may have pushed the same key since. Nothing is pushed once
// ctx is done.
func (e *Engine) push(ctx context.Context, s *state) error {
	e.Reporter.Phase(PhasePush, s.Ref)
	if err := e.auth(ctx, s); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not pushing %s: %w", s.Ref, err)
	}
	digest, err := e.Docker.Push(ctx, s.Ref, s.auth)
	switch {
	case errors.Is(err, ErrDenied) && s.plan.Config.ForkPullRequest:
		e.Reporter.Warnf("the registry refused to store %s (%v): this run is a pull request from a fork, whose credential may not push, so the image built here is handed over from this machine, and latest is not moved", s.Ref, err)
		s.Unstored = true
		return nil
	case err != nil && refusesOverwrite(err) && !s.plan.Config.Restore:
		return keyImmutable(s, err)
	case err != nil:
		return fmt.Errorf("pushing %s: %w", s.Ref, err)
	}
	s.Pushed = true
	if s.Digest, err = e.held(ctx, s, digest); err != nil {
		return err
	}
	return e.moveLatest(ctx, s)
}

// keyImmutable is the error of restore: false on a repository whose tags
// cannot be overwritten.
func keyImmutable(s *state, err error) error {
	return fmt.Errorf("restore: false: pushing %s: %w: a key's image cannot be replaced in this repository; change cache-key to build a new key instead", s.Ref, err)
}

// builderRefused is the error of a builder whose push of the key tag the
// registry refused (a BuildKit host pushes while it builds): a push error
// naming the fix, not a build error. A fork's pull request cannot be handed
// an image the builder kept, as a daemon's build can.
func (e *Engine) builderRefused(s *state, err error) error {
	switch {
	case errors.Is(err, ErrDenied) && s.plan.Config.ForkPullRequest:
		return fmt.Errorf("pushing %s: %w: this run is a pull request from a fork, whose credential may not push, and a BuildKit host hands over only what it pushed; build pull requests from forks on a Docker daemon (without buildkit-host), where a refused push is handed over from the daemon", s.Ref, err)
	case errors.Is(err, ErrDenied):
		return fmt.Errorf("pushing %s: %w: give the job a credential that may push to %s", s.Ref, err, s.Image)
	case !s.plan.Config.Restore:
		return keyImmutable(s, err)
	}
	return fmt.Errorf("pushing %s: %w: another run pushed this key first on a repository whose tags cannot be overwritten; run the job again to take its image", s.Ref, err)
}

// held asks the registry which image the key tag names after the push of
// pushed: another agent that missed the same key may have pushed its own
// build since, and the digest handed over must be one the registry holds.
func (e *Engine) held(ctx context.Context, s *state, pushed string) (string, error) {
	digest, err := e.Registry.Lookup(ctx, s.Tag, s.auth)
	if err != nil {
		return "", fmt.Errorf("checking %s after the push: %w", s.Ref, err)
	}
	if digest != pushed {
		e.Reporter.Infof("another run pushed %s too: the registry holds %s (this run pushed %s), which is handed over", s.Ref, ShortDigest(digest), ShortDigest(pushed))
	}
	return digest, nil
}

// moveLatest moves latest to the key's image when push-latest is set, the
// repository lets latest move, and latest names an older build, the way
// the image was stored: a tag on the daemon (the local provider), a tag in
// the registry (the builder pushed the key tag), or a tag on the daemon
// then a push. It runs once the key
// tag is stored, so that latest never names an image without one.
func (e *Engine) moveLatest(ctx context.Context, s *state) error {
	if !s.plan.Config.PushLatest || s.latestImmutable != "" || !e.latestIsOlder(ctx, s) {
		return nil
	}
	latest := s.latest()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not moving %s: %w", latest, err)
	}
	switch {
	case !s.can.Remote:
		if err := e.Docker.Tag(ctx, s.Ref, latest); err != nil {
			return fmt.Errorf("tagging %s: %w", latest, err)
		}
		return nil
	case s.byBuilder:
		e.Reporter.Phase(PhasePush, latest)
		if err := e.Registry.Tag(ctx, s.Tag, "latest", s.auth); err != nil {
			return e.latestRefused(ctx, s, fmt.Errorf("moving %s to %s: %w", latest, s.Ref, err))
		}
		e.Reporter.Infof("%s now names %s", latest, s.Ref)
		return nil
	}
	if err := e.Docker.Tag(ctx, s.Ref, latest); err != nil {
		return fmt.Errorf("tagging %s: %w", latest, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not pushing %s: %w", latest, err)
	}
	if _, err := e.Docker.Push(ctx, latest, s.auth); err != nil {
		return e.latestRefused(ctx, s, fmt.Errorf("pushing %s: %w", latest, err))
	}
	return nil
}

// latestRefused warns that latest could not move because the registry
// refuses to overwrite a tag, and carries on: the key tag is stored, and a
// run never fails for latest on a registry with immutable tags. Any other
// error, or a cancelled run, still fails.
func (e *Engine) latestRefused(ctx context.Context, s *state, err error) error {
	if ctx.Err() != nil || !refusesOverwrite(err) {
		return err
	}
	e.Reporter.Warnf("%s was not moved and names an older build: %v; on a registry with immutable tags, set push-latest: false: "+
		"a miss then builds on fallback-tag, or on the newest key's image", s.latest(), err)
	return nil
}

// latestIsOlder reports whether latest may be moved to this run's image:
// when it is absent, or names a build that started before this one. Runs
// on several agents finish in any order, and latest must not move back.
// When latest's labels cannot be read, it is left where it is. With
// restore: false, latest may name the key's image this run replaced: it
// moves when that one started before this one.
func (e *Engine) latestIsOlder(ctx context.Context, s *state) bool {
	latest := s.latest()
	labels, err := e.labels(ctx, s, "latest")
	switch {
	case errors.Is(err, ErrNotFound):
		return true
	case err != nil:
		e.Reporter.Warnf("could not read %s, so it is left where it is: %v", latest, err)
		return false
	case labels[LabelKey] == s.Tag && s.plan.Config.Restore:
		e.Reporter.Infof("%s already names an image of key %s", latest, s.Tag)
		return false
	}
	theirs, ok := parseStarted(labels[LabelBuildStarted])
	if !ok {
		return true // not an image of this cache's making
	}
	ours, ok := parseStarted(s.local.Labels[LabelBuildStarted])
	if ok && !theirs.Before(ours) {
		e.Reporter.Infof("%s is left where it is: it names a build that started at %s, not before this one (%s)",
			latest, theirs.UTC().Format(time.RFC3339Nano), ours.UTC().Format(time.RFC3339Nano))
		return false
	}
	return true
}

// labels reads the labels of tag's image, for the miss's explanation and
// the forward-only check alike: from the registry, which is the truth on
// every agent, or from the daemon for the local provider. It answers
// ErrNotFound when there is no such tag, and ErrUnsupported when the
// provider cannot read labels.
func (e *Engine) labels(ctx context.Context, s *state, tag string) (map[string]string, error) {
	switch {
	case !s.can.Remote:
		img, err := e.Docker.Inspect(ctx, s.Image+":"+tag)
		return img.Labels, err
	case !s.can.Labels:
		return nil, ErrUnsupported
	}
	return e.Registry.Labels(ctx, tag, s.auth)
}
