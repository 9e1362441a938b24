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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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
	platform string // the daemon's, when its /version answered the first call
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
	}, nil
}

// ready checks once that the daemon answers, negotiating the API version.
// On a unix socket one unversioned GET /version does it and also tells the
// platform, so that a hit asks the daemon twice in all, as `docker image
// inspect` does; elsewhere a ping does it.
func (c *Client) ready(ctx context.Context) error {
	c.once.Do(func() {
		pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var err error
		if strings.HasPrefix(c.api.DaemonHost(), "unix://") {
			err = c.version(pingCtx)
		} else {
			var ping types.Ping
			if ping, err = c.api.Ping(pingCtx); err == nil {
				// Negotiate from this answer: else the first call pings again.
				c.api.NegotiateAPIVersionPing(ping)
			}
		}
		if err != nil {
			from := "DOCKER_HOST is not set, so the default was tried"
			if h := os.Getenv("DOCKER_HOST"); h != "" {
				from = "from DOCKER_HOST=" + h
			}
			c.pingErr = fmt.Errorf("no Docker daemon answers at %s (%s): %w", c.api.DaemonHost(), from, err)
		}
	})
	if c.pingErr != nil {
		return fmt.Errorf("%w; start dockerd, or set DOCKER_HOST to a daemon that runs", c.pingErr)
	}
	return nil
}

// version asks the daemon's unversioned /version, which every API version
// serves, negotiates the API version from its answer and keeps the
// platform.
func (c *Client) version(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+client.DummyHost+"/version", nil)
	if err != nil {
		return err
	}
	resp, err := c.api.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /version: %s", resp.Status)
	}
	var v types.Version
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return fmt.Errorf("reading the daemon's version: %w", err)
	}
	c.api.NegotiateAPIVersionPing(types.Ping{APIVersion: v.APIVersion, OSType: v.Os})
	if c.platform, err = normalizePlatform(v.Os, v.Arch); err != nil {
		c.platform = "" // Platform asks again, and says why
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

// Platform is the platform the daemon builds for when none is given: the
// OS and architecture its own binary was built for, as the Engine API's
// version reports them, normalized as containerd does (an arm daemon
// builds for arm/v7).
func (c *Client) Platform(ctx context.Context) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	if c.platform != "" {
		return c.platform, nil
	}
	v, err := c.api.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the daemon for its version: %w", err)
	}
	return normalizePlatform(v.Os, v.Arch)
}

// normalizePlatform is os/arch[/variant] as containerd normalizes it:
// x86_64 is amd64, aarch64 is arm64, arm is arm/v7.
func normalizePlatform(goos, arch string) (string, error) {
	if goos == "" || arch == "" {
		return "", fmt.Errorf("the daemon reports no platform (OS %q, architecture %q): set the platform option", goos, arch)
	}
	return platforms.Format(platforms.Normalize(ocispec.Platform{OS: goos, Architecture: arch})), nil
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
