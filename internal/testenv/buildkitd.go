package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildKitHostEnv names a running BuildKit daemon for tests to share, as
// `eval "$(scripts/buildkitd-up.sh)"` sets it.
const BuildKitHostEnv = "BUILDKIT_HOST"

// BuildKit returns the address of a BuildKit daemon: BUILDKIT_HOST when it
// is set and answers, else a private daemon that lives as long as the
// test. When neither can be had, the test is skipped with the reason, or
// fails under DOCKER_ECR_CACHE_REQUIRE_DOCKER=1.
func BuildKit(t testing.TB) string {
	t.Helper()
	if host := os.Getenv(BuildKitHostEnv); host != "" {
		if err := dialBuildKit(host); err != nil {
			unavailable(t, fmt.Sprintf("%s=%s does not answer: %v (start one with: eval \"$(scripts/buildkitd-up.sh)\")", BuildKitHostEnv, host, err))
		}
		return host
	}
	return StartBuildKitd(t, "").Addr
}

// BuildKitd is a private buildkitd on a loopback TCP port, run as root with
// the OCI worker (runc), its state in Root.
type BuildKitd struct {
	Addr string // tcp://127.0.0.1:port
	Root string

	bin, log string
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// StartBuildKitd starts a private daemon keeping its state in root (a new
// temporary directory when empty), with more buildkitd flags in args (TLS:
// --tlscert, --tlskey, --tlscacert). It is stopped when the test ends.
func StartBuildKitd(t testing.TB, root string, args ...string) *BuildKitd {
	t.Helper()
	bin, err := buildkitdBinary()
	if err != nil {
		unavailable(t, err.Error())
	}
	if os.Geteuid() != 0 {
		unavailable(t, "starting buildkitd needs root: run the tests as root, or set "+BuildKitHostEnv)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		unavailable(t, "buildkitd's OCI worker needs runc: apt-get install -y runc")
	}
	if root == "" {
		root = t.TempDir()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + l.Addr().String()
	l.Close()
	d := &BuildKitd{Addr: addr, Root: root, bin: bin, args: args, log: filepath.Join(t.TempDir(), "buildkitd.log")}
	t.Cleanup(d.Stop)
	if err := d.start(); err != nil {
		unavailable(t, err.Error())
	}
	return d
}

// Restart stops the daemon and starts it again on the same address. With
// wipe, its state is removed first, as on a fresh agent.
func (d *BuildKitd) Restart(t testing.TB, wipe bool) {
	t.Helper()
	d.Stop()
	if wipe {
		if err := os.RemoveAll(d.Root); err != nil {
			t.Fatalf("wiping buildkitd's root: %v", err)
		}
		if err := os.MkdirAll(d.Root, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
}

// Stop stops the daemon: SIGTERM, then SIGKILL after 15 s.
func (d *BuildKitd) Stop() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// start runs the daemon and waits until it serves, for 60 s at most.
func (d *BuildKitd) start() error {
	log, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(d.bin, append([]string{
		"--addr", d.Addr,
		"--root", d.Root,
		"--oci-worker=true", "--containerd-worker=false",
		"--otel-socket-path", filepath.Join(d.Root, "otel-grpc.sock"),
	}, d.args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting buildkitd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(d.log); bytes.Contains(b, []byte("running server")) {
			return nil
		}
		select {
		case <-exited:
			d.cmd = nil
			return fmt.Errorf("buildkitd exited at start:\n%s", d.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
	d.Stop()
	return fmt.Errorf("buildkitd did not serve within 60s:\n%s", d.tail())
}

func (d *BuildKitd) tail() string {
	b, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

var (
	buildkitdOnce sync.Once
	buildkitdPath string
	buildkitdErr  error
)

// buildkitdBinary is DOCKER_ECR_CACHE_BUILDKITD, else the buildkitd that
// scripts/buildkitd-up.sh builds once, at go.mod's buildkit version.
func buildkitdBinary() (string, error) {
	buildkitdOnce.Do(func() {
		if p := os.Getenv("DOCKER_ECR_CACHE_BUILDKITD"); p != "" {
			buildkitdPath = p
			return
		}
		cmd := exec.Command(filepath.Join(RepoRoot(), "scripts", "buildkitd-up.sh"), "bin")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			buildkitdErr = fmt.Errorf("building buildkitd (scripts/buildkitd-up.sh bin): %v\n%s", err, stderr.String())
			return
		}
		buildkitdPath = strings.TrimSpace(string(out))
	})
	return buildkitdPath, buildkitdErr
}

// dialBuildKit checks that something listens at a tcp:// or unix://
// address; other forms (docker-container://, kube-pod://) are trusted.
func dialBuildKit(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return err
	}
	var network, addr string
	switch u.Scheme {
	case "tcp":
		network, addr = "tcp", u.Host
	case "unix":
		network, addr = "unix", u.Path
	default:
		return nil
	}
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// unavailable skips the test, or fails it when the environment requires
// every real part (DOCKER_ECR_CACHE_REQUIRE_DOCKER=1).
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireDockerEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
