package engine

import (
	"context"
	"errors"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// ComputeKey validates c and computes its cache key. It needs no daemon
// and no registry: with no platform given it hashes this machine's
// (DefaultPlatform), where a run asks the daemon. Give platform to make
// the two agree when DOCKER_HOST is a machine of another kind.
func ComputeKey(ctx context.Context, c *Config) (key.Key, error) {
	p, err := c.Plan()
	if err != nil {
		return key.Key{}, err
	}
	return computeKey(ctx, p, func() (string, error) { return DefaultPlatform(), nil })
}

// computeKey computes the cache key of p. When p gives no platform, it
// asks platform, once the files are read (so that a problem with them is
// found without a daemon), and records the answer in p.
func computeKey(ctx context.Context, p *Plan, platform func() (string, error)) (key.Key, error) {
	k, err := key.Compute(ctx, p.keySpec(), func() (string, error) {
		var err error
		p.Platform, err = platform()
		return p.Platform, err
	})
	var ce *key.ConfigError
	if errors.As(err, &ce) {
		return key.Key{}, &ConfigError{Err: err}
	}
	return k, err
}

// keySpec is what the key hashes of p.
func (p *Plan) keySpec() key.Spec {
	c := &p.Config
	return key.Spec{
		Dir:               c.WorkDir,
		Dockerfile:        c.Dockerfile,
		DockerfileInline:  c.DockerfileInline,
		Target:            c.Target,
		Platform:          p.Platform,
		BuildArgs:         p.BuildArgs,
		Flags:             p.Flags.canonical(),
		CacheOn:           c.CacheOn,
		AllowEmptyCacheOn: c.AllowEmptyCacheOn,
		CacheKey:          c.CacheKey,
	}
}
