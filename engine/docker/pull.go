package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/image"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Pull pulls ref with auth, writing plain progress lines.
func (c *Client) Pull(ctx context.Context, ref string, auth engine.Auth) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	enc, err := registryAuth(auth)
	if err != nil {
		return err
	}
	body, err := c.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: enc})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	defer body.Close()
	if err := display(body, c.progress, nil); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return nil
}
