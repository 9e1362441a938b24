package docker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Push pushes ref with auth and returns the manifest digest the registry
// took, from the daemon's aux message. A push whose stream reports an
// error, or no digest, fails.
func (c *Client) Push(ctx context.Context, ref string, auth engine.Auth) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	enc, err := registryAuth(auth)
	if err != nil {
		return "", err
	}
	body, err := c.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: enc})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	defer body.Close()
	var digest string
	err = display(body, c.progress, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %s: the daemon reported no digest, so the push cannot be trusted", ref)
	}
	return digest, nil
}
