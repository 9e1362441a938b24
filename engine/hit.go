package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/distribution/reference"
)

// hit hands over the key's image: pulled, unless it is already on the
// daemon, verified, or skip-pull-from-cache is set, or no daemon answers. A local image is
// trusted only when its key label is the key and it was pushed to or
// pulled from the registry with the digest the registry holds now; any
// other is replaced by the registry's, also with skip-pull-from-cache, so
// that the job never runs an image that only this machine vouches for.
func (e *Engine) hit(ctx context.Context, s *state) error {
	log := e.Reporter
	switch {
	case !s.can.Remote:
		log.Infof("cache hit: %s is on this machine", s.Ref)
		return nil
	case !s.daemon:
		log.Infof("cache hit: %s is in the registry (%s); with no Docker daemon here, it is handed over by reference, not pulled", s.Ref, ShortDigest(s.Digest))
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
	return e.pull(ctx, s)
}

// pull pulls the key's image by the digest the registry holds (s.Digest),
// then tags it with the key: the tag cannot move between the lookup and
// the pull.
func (e *Engine) pull(ctx context.Context, s *state) error {
	e.Reporter.Phase(PhasePull, s.Ref)
	byDigest := s.Image + "@" + s.Digest
	if err := ValidateReference(byDigest); err != nil {
		return fmt.Errorf("pulling %s: the registry's digest: %w", s.Ref, err)
	}
	if err := e.Docker.Pull(ctx, byDigest, s.auth); err != nil {
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
	if !s.plan.Config.Save {
		e.Reporter.Infof("%s was built on this machine before: save: false, so it is handed over without a push", s.Ref)
		s.CacheHit = true
		return nil
	}
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
