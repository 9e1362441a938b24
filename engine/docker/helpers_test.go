package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/sirupsen/logrus"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestMain(m *testing.M) {
	logrus.SetOutput(io.Discard) // the in-process registry's request log
	os.Exit(m.Run())
}

// newTestClient connects to the daemon of DOCKER_HOST. With no daemon the
// test is skipped, unless DOCKER_ECR_CACHE_REQUIRE_DOCKER=1 (as in CI).
func newTestClient(t *testing.T) (*Client, *testenv.Buffer) {
	t.Helper()
	testenv.Docker(t)
	out := &testenv.Buffer{}
	c, err := New(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, out
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func random(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// contextDir is a build context holding busybox and files (name: content).
func contextDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no static busybox (apt-get install busybox-static): %v", err)
	}
	files["busybox"] = string(bb)
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// removeImage removes ref and its untagged parents, forcibly.
func removeImage(t *testing.T, c *Client, ref string) {
	t.Helper()
	_, err := c.api.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	// Parallel tests can build the same image: the other test's removal
	// may take it first, when the daemon answers with either message.
	if err != nil && !strings.Contains(err.Error(), "No such image") && !strings.Contains(err.Error(), "unrecognized image ID") {
		t.Errorf("removing %s: %v", ref, err)
	}
}

// savedImage is the `docker save` tar of ref, and the files of its
// layers (later layers win).
func savedImage(t *testing.T, c *Client, ref string) (raw []byte, files map[string]string) {
	t.Helper()
	rc, err := c.api.ImageSave(context.Background(), []string{ref})
	if err != nil {
		t.Fatalf("saving %s: %v", ref, err)
	}
	defer rc.Close()
	raw, err = io.ReadAll(rc)
	if err != nil {
		t.Fatalf("saving %s: %v", ref, err)
	}
	entries := untar(t, raw)
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of %s: %v (%d entries)", ref, err, len(manifest))
	}
	files = map[string]string{}
	for _, l := range manifest[0].Layers {
		for name, content := range untar(t, entries[l]) {
			files["/"+name] = string(content)
		}
	}
	return raw, files
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		out[path.Clean(strings.TrimPrefix(h.Name, "./"))] = content
	}
}

// startRegistry runs a CNCF distribution registry in this process on
// 127.0.0.1, which dockerd takes as insecure (plain HTTP). With a user, it
// asks for basic auth. It returns host:port.
func startRegistry(t *testing.T, user, password string) string {
	t.Helper()
	return testenv.StartRegistry(t, testenv.RegistryOptions{Username: user, Password: password}).Host
}
