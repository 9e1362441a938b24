package ecrtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// PushImage pushes a small OCI image (a config and one layer of content)
// as host/repo:tag over the distribution API, with basic auth, without a
// Docker daemon. It returns the manifest digest.
func PushImage(t testing.TB, host, repo, tag, user, password, content string) string {
	t.Helper()
	d, err := TryPushImage(host, repo, tag, user, password, content)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TryPushImage is PushImage that returns the registry's refusal.
func TryPushImage(host, repo, tag, user, password, content string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + host + "/v2/" + repo
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte(content)
	for _, blob := range [][]byte{config, layer} {
		if err := pushBlob(c, base, user, password, blob); err != nil {
			return "", fmt.Errorf("pushing a blob to %s/%s: %w", host, repo, err)
		}
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer)},
	})
	req, _ := http.NewRequest(http.MethodPut, base+"/manifests/"+tag, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	req.SetBasicAuth(user, password)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("pushing %s/%s:%s: %w", host, repo, tag, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("pushing %s/%s:%s: %s %s", host, repo, tag, resp.Status, body)
	}
	return digest(manifest), nil
}

func pushBlob(c *http.Client, base, user, password string, blob []byte) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/blobs/uploads/", nil)
	req.SetBasicAuth(user, password)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("starting an upload: %s", resp.Status)
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", digest(blob))
	loc.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.SetBasicAuth(user, password)
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("uploading: %s", resp.Status)
	}
	return nil
}

func descriptor(mediaType string, b []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digest(b), "size": len(b)}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
