package faultproxy_test

import (
	"archive/tar"
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// dockerd pushes through the proxy when the image name uses its
// 127.0.0.1:PORT, and the record shows a scripted 503 on the manifest PUT.
func TestDaemonPushThroughProxy(t *testing.T) {
	testenv.Docker(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	p := faultproxy.Start(t, reg.Host, faultproxy.Rule{Method: "PUT", Path: `/manifests/`, Times: 1, Fault: faultproxy.Status(503)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A FROM scratch image of one file, imported from a tarball.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	content := []byte(t.Name() + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "marker", Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(content)
	_ = tw.Close()
	image := p.Host + "/faultproxy/push:test"
	docker := func(stdin *bytes.Buffer, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "docker", args...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := docker(&layer, "import", "-", image); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })

	// dockerd does not retry a manifest PUT: the first push fails with the 503.
	out, err := docker(nil, "push", image)
	if err == nil {
		t.Fatalf("first push succeeded through a 503 on the manifest PUT:\n%s", out)
	}
	if !strings.Contains(out, "503") && !strings.Contains(out, "Service Unavailable") {
		t.Errorf("first push failed without naming the 503:\n%s", out)
	}
	if out, err := docker(nil, "push", image); err != nil {
		t.Fatalf("second push: %v\n%s", err, out)
	}

	puts := p.Matching("PUT", `^/v2/faultproxy/push/manifests/test$`)
	if len(puts) != 2 || puts[0].Status != 503 || puts[0].Fault != "injected" || puts[1].Status != 201 {
		t.Errorf("manifest PUTs = %v, want one injected 503 then 201", puts)
	}
	if len(p.Matching("PATCH", `/blobs/uploads/`))+len(p.Matching("PUT", `/blobs/uploads/`)) == 0 {
		t.Errorf("no blob upload went through the proxy: %v", p.Requests())
	}

	// The registry behind the proxy holds the tag.
	resp, err := http.Head("http://" + reg.Host + "/v2/faultproxy/push/manifests/test")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD of the pushed tag on the registry = %d, want 200", resp.StatusCode)
	}
}
