// Package docker implements engine.Docker against the Docker Engine API.
//
// It uses github.com/docker/docker/client rather than its successor
// github.com/moby/moby/client because buildkit's session and progress
// packages are built and tested against it. Builds always go through
// BuildKit, with a session that serves secrets, SSH agents and registry
// credentials. Nothing is printed except to the progress writer given to
// New, and credentials are sent per request, never stored.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

var (
	_ engine.Docker = (*Client)(nil)
	_ engine.Pinger = (*Client)(nil)
)

// Client is a Docker Engine, reached through DOCKER_HOST and friends.
type Client struct {
	// Retry bounds the retries of a pull or push that fails on a transient
	// registry error: the daemon does not retry a 5xx or 429 itself.
	Retry retry.Policy
	// Log reports each retry with its reason; nil is silent.
	Log retry.Logf
	// StallBuild and StallPullPush stop a build, or a pull or push, whose
	// stream shows no progress for that long; 0 means no limit.
	StallBuild, StallPullPush time.Duration

	api      *client.Client
	progress io.Writer
	once     sync.Once
	pingErr  error
	// platforms is where the daemons' platforms are remembered
	// (platformCache); "" remembers nothing.
	platforms string
}

// New returns a client for the daemon named by the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION). It does not
// connect: the first call checks that the daemon answers, so that problems
// with the configuration are found first. Pull, push and build progress is
// written to progress, which may be nil.
func New(_ context.Context, progress io.Writer) (*Client, error) {
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client from the environment (DOCKER_HOST=%q): %w", os.Getenv("DOCKER_HOST"), err)
	}
	if progress == nil {
		progress = io.Discard
	}
	return &Client{
		Retry:         retry.Default,
		StallBuild:    engine.DefaultStallTimeoutBuild,
		StallPullPush: engine.DefaultStallTimeoutPullPush,
		api:           api,
		progress:      progress,
		platforms:     platformsDir(),
	}, nil
}

// ready checks once that the daemon answers, negotiating the API version.
func (c *Client) ready(ctx context.Context) error {
	c.once.Do(func() {
		pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		ping, err := c.api.Ping(pingCtx)
		if err != nil {
			from := "DOCKER_HOST is not set, so the default was tried"
			if h := os.Getenv("DOCKER_HOST"); h != "" {
				from = "from DOCKER_HOST=" + h
			}
			c.pingErr = fmt.Errorf("no Docker daemon answers at %s (%s): %w", c.api.DaemonHost(), from, err)
			return
		}
		// Negotiate from this answer: else the first call pings again.
		c.api.NegotiateAPIVersionPing(ping)
	})
	if c.pingErr != nil {
		return fmt.Errorf("%w; start dockerd, or set DOCKER_HOST to a daemon that runs", c.pingErr)
	}
	return nil
}

// Ping reports whether a daemon answers, once for the client's life (the
// engine's Pinger): without one, a run is daemonless.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.ready(ctx); err == nil {
		return nil
	}
	return c.pingErr // without ready's advice to start dockerd
}

// Close releases the connection to the daemon.
func (c *Client) Close() error { return c.api.Close() }

// Inspect returns the local image ref, or an error wrapping engine.ErrNotFound.
func (c *Client) Inspect(ctx context.Context, ref string) (engine.Image, error) {
	if err := c.ready(ctx); err != nil {
		return engine.Image{}, err
	}
	resp, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return engine.Image{}, fmt.Errorf("image %s: %w", ref, engine.ErrNotFound)
		}
		return engine.Image{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	img := engine.Image{ID: resp.ID, RepoDigests: resp.RepoDigests}
	if resp.Config != nil {
		img.Labels = resp.Config.Labels
	}
	if resp.Created != "" {
		created, err := time.Parse(time.RFC3339Nano, resp.Created)
		if err != nil {
			return img, fmt.Errorf("image %s: creation time %q: %w", ref, resp.Created, err)
		}
		img.Created = created
	}
	return img, nil
}

// Tag gives the image src the name dst.
func (c *Client) Tag(ctx context.Context, src, dst string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.api.ImageTag(ctx, src, dst); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", src, dst, err)
	}
	return nil
}

// registryAuth is the X-Registry-Auth header for auth; an empty Auth is
// sent as an empty credential, which the daemon takes for anonymous.
func registryAuth(auth engine.Auth) (string, error) {
	enc, err := registry.EncodeAuthConfig(registry.AuthConfig{
		Username:      auth.Username,
		Password:      auth.Password,
		ServerAddress: auth.Server,
		IdentityToken: auth.IdentityToken,
	})
	if err != nil {
		return "", errors.New("encoding registry credentials failed")
	}
	return enc, nil
}
