package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// maxDocument bounds what is read of a manifest or config.
const maxDocument = 4 << 20

// Labels returns the labels in the config of repo:tag's image, choosing the
// linux image of this machine's architecture from an index.
func (c *Client) Labels(ctx context.Context, repo, tag string, auth engine.Auth) (map[string]string, error) {
	var m struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	ref := "manifests/" + tag
	for range 2 {
		if err := c.getJSON(ctx, repo, ref, manifestTypes, auth, &m); err != nil {
			return nil, fmt.Errorf("reading %s:%s: %w", repo, tag, err)
		}
		if len(m.Manifests) == 0 {
			break
		}
		ref = "manifests/" + m.Manifests[0].Digest
		for _, d := range m.Manifests {
			if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				ref = "manifests/" + d.Digest
			}
		}
		m.Manifests = nil
	}
	if m.Config.Digest == "" {
		return nil, fmt.Errorf("reading %s:%s: the manifest names no config", repo, tag)
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := c.getJSON(ctx, repo, "blobs/"+m.Config.Digest, "", auth, &cfg); err != nil {
		return nil, fmt.Errorf("reading the config of %s:%s: %w", repo, tag, err)
	}
	return cfg.Config.Labels, nil
}

func (c *Client) getJSON(ctx context.Context, repo, rest, accept string, auth engine.Auth, v any) error {
	resp, err := c.get(ctx, http.MethodGet, repo, rest, accept, auth)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(v)
}
