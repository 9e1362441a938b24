package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// hugeConfigRegistry serves repo:tag with a manifest whose config declares
// declared bytes, and a config blob that streams streamed bytes of JSON
// whitespace; it counts the bytes of config it sent.
func hugeConfigRegistry(t *testing.T, declared, streamed int64) (host string, sent *atomic.Int64) {
	sent = new(atomic.Int64)
	digest := "sha256:" + strings.Repeat("ab", 32)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`, digest, declared)
	sum := sha256.Sum256([]byte(manifest))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
		case strings.HasSuffix(r.URL.Path, "/manifests/big"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			_, _ = w.Write([]byte(manifest))
		case strings.Contains(r.URL.Path, "/blobs/"):
			chunk := []byte(strings.Repeat(" ", 1<<20))
			for n := int64(0); n < streamed; n += int64(len(chunk)) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				sent.Add(int64(len(chunk)))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), sent
}

// A registry that declares an 8 GiB config is refused before the config
// is fetched; one that declares a small config and streams 512 MiB is cut
// at the declared size. Neither is read into memory.
func TestLabelsBoundsTheConfig(t *testing.T) { // not parallel: it counts allocations
	c, _ := client(t)

	host, sent := hugeConfigRegistry(t, 8<<30, 512<<20)
	_, err := c.Labels(context.Background(), host+"/cache", "big", engine.Auth{})
	if !errors.Is(err, ErrConfigTooLarge) || !strings.Contains(err.Error(), "8589934592 bytes") {
		t.Errorf("Labels of an 8 GiB config: %v, want ErrConfigTooLarge", err)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d bytes of config were fetched", n)
	}

	host, _ = hugeConfigRegistry(t, 1024, 512<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = c.Labels(context.Background(), host+"/cache", "big", engine.Auth{})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Error("Labels of a config that streams past its declared size: no error")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("reading a config that declares 1 KiB allocated %d MiB", grew>>20)
	}
}
