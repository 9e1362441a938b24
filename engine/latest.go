package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// held asks the registry which image the key tag names after the push of
// pushed: another agent that missed the same key may have pushed its own
// build since, and the digest handed over must be one the registry holds.
func (e *Engine) held(ctx context.Context, s *state, pushed string, auth Auth) (string, error) {
	digest, err := e.Registry.Lookup(ctx, s.Tag, auth)
	if err != nil {
		return "", fmt.Errorf("checking %s after the push: %w", s.Ref, err)
	}
	if digest != pushed {
		e.Reporter.Infof("another run pushed %s too: the registry holds %s (this run pushed %s), which is handed over", s.Ref, ShortDigest(digest), ShortDigest(pushed))
	}
	return digest, nil
}

// latestIsOlder reports whether latest may be moved to this run's image:
// when it is absent, or names a build that started before this one. Runs
// on several agents finish in any order, and latest must not move back.
// When latest's labels cannot be read, it is left where it is.
func (e *Engine) latestIsOlder(ctx context.Context, s *state, auth Auth) bool {
	latest := s.Image + ":latest"
	labels, err := e.latestLabels(ctx, latest, auth)
	switch {
	case errors.Is(err, ErrNotFound):
		return true
	case err != nil:
		e.Reporter.Warnf("could not read %s, so it is left where it is: %v", latest, err)
		return false
	case labels[LabelKey] == s.Tag:
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

// latestLabels reads latest's labels: from the registry, or from the
// daemon for the local provider. A registry that cannot read labels
// answers ErrNotFound, so that latest moves as it always did.
func (e *Engine) latestLabels(ctx context.Context, latest string, auth Auth) (map[string]string, error) {
	if !e.Registry.Remote() {
		img, err := e.Docker.Inspect(ctx, latest)
		return img.Labels, err
	}
	lr, ok := e.Registry.(LabelReader)
	if !ok {
		return nil, ErrNotFound
	}
	return lr.Labels(ctx, "latest", auth)
}
