package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// buildkitdContainer runs the test bed's buildkitd in a container of the
// job's daemon, from an image made of the binaries built here (nothing is
// pulled), on the host's network so that it reaches loopback registries.
// It returns the container's name.
func buildkitdContainer(t *testing.T) string {
	t.Helper()
	testenv.Docker(t)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	image, name := "docker-ecr-cache-test/buildkitd:"+suffix, "docker-ecr-cache-buildkitd-"+suffix
	out, err := exec.Command(filepath.Join(testenv.RepoRoot(), "scripts", "buildkitd-up.sh"), "image", image).CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/buildkitd-up.sh image: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", name).Run()
		_ = exec.Command("docker", "rmi", image).Run()
	})
	// The OCI worker's runc mounts, unshares and makes cgroups: SYS_ADMIN,
	// no seccomp or AppArmor profile, the cgroup file system writable.
	// (--privileged asks for capabilities that some kernels refuse.)
	if out, err := exec.Command("docker", "run", "-d", "--name", name, "--network", "host",
		"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
		image, "--addr", "unix:///run/buildkit/buildkitd.sock").CombinedOutput(); err != nil {
		t.Fatalf("starting buildkitd: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
		if strings.Contains(string(logs), "running server") {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("buildkitd did not start in its container:\n%s", logs)
		}
	}
}

// fakeKubectl is a kubectl for a pod that is the container: it checks that
// it is called as the kube-pod:// connection helper calls it, writes its
// command line to a file, and runs buildctl dial-stdio in the container.
const fakeKubectl = `#!/bin/sh
printf '%%s\n' "$*" >>%q
want="--context= --namespace=ci exec --container=buildkitd -i %s -- buildctl dial-stdio"
if [ "$*" != "$want" ]; then
  echo "kubectl: unexpected arguments: $*" >&2
  exit 64
fi
exec docker exec -i %s buildctl dial-stdio
`

// TestBuildKitTransports: docker-container:// and kube-pod:// connect
// through their connection helpers' own commands (docker exec, and a
// kubectl on PATH that execs into the same container), build and push a
// miss, and then hit. Without the helper's command, the run is refused.
func TestBuildKitTransports(t *testing.T) {
	t.Parallel()
	name := buildkitdContainer(t)
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "kubectl.calls")
	kubectl := fmt.Sprintf(fakeKubectl, calls, name, name)
	testenv.WriteExecutable(t, filepath.Join(bin, "kubectl"), kubectl)
	for _, tc := range []struct{ name, host string }{
		{"docker-container", "docker-container://" + name},
		{"kube-pod", "kube-pod://" + name + "?namespace=ci&container=buildkitd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{Username: "ci", Password: "transport-pass"})
			j := newBKJob(t, tc.host, reg, "ci", "transport-pass")
			j.env = append(j.env[:len(j.env):len(j.env)], "PATH="+bin+":"+os.Getenv("PATH"))
			j.options["CACHE_ON"] = "deps.txt"
			j.write(t, "deps.txt", "deps "+tc.name)
			j.write(t, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY deps.txt /deps.txt\n"+
				`RUN ["/bin/busybox", "sh", "-c", "echo built with $(/bin/busybox cat /deps.txt) > /marker"]`+"\n")
			miss := j.run(t, 0)
			ref := miss.Outputs["IMAGE_REF"]
			if miss.Outputs["CACHE_HIT"] != "false" || !strings.Contains(miss.Stderr, "building on "+tc.host+", which pushes "+ref) {
				t.Fatalf("outputs %v\n%s", miss.Outputs, miss.Stderr)
			}
			path := regexp.QuoteMeta(strings.TrimPrefix(j.repo, reg.Host+"/"))
			if indexOf(reg.Requests(), `^PUT /v2/`+path+`/manifests/`+miss.Outputs["TAG"]+` 201$`) < 0 {
				t.Errorf("the key tag was not pushed:\n%s", strings.Join(reg.Requests(), "\n"))
			}
			if got := dockerRun(t, ref, "/bin/busybox", "cat", "/marker"); got != "built with deps "+tc.name {
				t.Errorf("marker %q", got)
			}
			hit := j.run(t, 0)
			if hit.Outputs["CACHE_HIT"] != "true" || hit.Outputs["IMAGE_REF"] != ref {
				t.Errorf("second run: outputs %v\n%s", hit.Outputs, hit.Stderr)
			}
		})
	}
	b, err := os.ReadFile(calls)
	if err != nil || !strings.Contains(string(b), "exec --container=buildkitd -i "+name+" -- buildctl dial-stdio") {
		t.Errorf("kubectl was not called as the helper calls it: %q, %v", b, err)
	}

	// Where the helper's command is missing, as in the action's image.
	for scheme, cmd := range map[string]string{"docker-container": "docker", "kube-pod": "kubectl"} {
		reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
		j := newBKJob(t, scheme+"://"+name, reg, "", "")
		j.env = append(j.env[:len(j.env):len(j.env)], "PATH="+t.TempDir())
		j.write(t, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\n")
		r := j.run(t, 2)
		if want := "there is no " + cmd + " on PATH"; !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "give a tcp:// or unix:// buildkit-host") {
			t.Errorf("%s: stderr lacks %q:\n%s", scheme, want, r.Stderr)
		}
	}
}
