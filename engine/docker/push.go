package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/docker/docker/api/types/image"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

var digestStatus = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// Push pushes ref with auth and returns the manifest digest the registry
// took. A push whose stream reports an error, or no digest, fails.
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
	err = readMessages(body, func(m *message) error {
		plainLine(c.progress, m)
		if m.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		if s := digestStatus.FindStringSubmatch(m.Status); s != nil && digest == "" {
			digest = s[1]
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %s: the daemon reported no digest, so the push cannot be trusted", ref)
	}
	return digest, nil
}
