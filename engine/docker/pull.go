package docker

import (
	"context"

	"github.com/docker/docker/api/types/image"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// Pull pulls ref with auth, writing plain progress lines. A transient
// registry error is retried by c.Retry; a pull without progress for
// c.StallPullPush is stopped.
func (c *Client) Pull(ctx context.Context, ref string, auth engine.Auth) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	enc, err := registryAuth(auth)
	if err != nil {
		return err
	}
	return retry.Do(ctx, c.Retry, c.Log, "pulling "+ref, func() error { // the caller names ref
		ctx, w := watch(ctx, c.StallPullPush, "pull", ref)
		return w.stop(c.pull(ctx, w, ref, enc))
	})
}

func (c *Client) pull(ctx context.Context, w *watchdog, ref, enc string) error {
	body, err := c.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: enc})
	if err != nil {
		return err
	}
	defer body.Close()
	return display(w.reader(body), c.progress, nil)
}
