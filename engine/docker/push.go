package docker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// Push pushes ref with auth and returns the manifest digest the registry
// took, from the daemon's aux message. A push whose stream reports an
// error, or no digest, fails. A transient registry error is retried by
// c.Retry (the layers already sent are not sent again); a push without
// progress for c.StallPullPush is stopped.
func (c *Client) Push(ctx context.Context, ref string, auth engine.Auth) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	enc, err := registryAuth(auth)
	if err != nil {
		return "", err
	}
	var digest string
	err = retry.Do(ctx, c.Retry, c.Log, "pushing "+ref, func() error {
		ctx, w := watch(ctx, c.StallPullPush, "push", ref)
		var err error
		digest, err = c.push(ctx, w, ref, enc)
		return w.stop(err)
	})
	if err != nil {
		return "", engine.MarkRefusal(err) // the caller names ref
	}
	if digest == "" {
		return "", fmt.Errorf("the daemon reported no digest for %s, so the push cannot be trusted", ref)
	}
	return digest, nil
}

func (c *Client) push(ctx context.Context, w *watchdog, ref, enc string) (string, error) {
	body, err := c.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: enc})
	if err != nil {
		return "", err
	}
	defer body.Close()
	var digest string
	err = display(w.reader(body), c.progress, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	return digest, err
}
