package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// BenchmarkHitLocal measures a whole hit with the image on the daemon, as a
// process from start to outputs written: the local provider, and a registry
// that is asked once.
func BenchmarkHitLocal(b *testing.B) {
	testenv.Docker(b)
	bin := testenv.Binary(b)
	reg := testenv.StartRegistry(b, testenv.RegistryOptions{})
	dir := b.TempDir()
	testenv.Busybox(b, dir)
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"true\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct{ name, provider, registry string }{
		{"local", "local", ""},
		{"registry", "registry", reg.Host + "/bench"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			run := func() string {
				cmd := exec.Command(bin, "--registry-provider", tt.provider, "--ecr-name", "build-cache/bench-hit")
				if tt.registry != "" {
					cmd.Args = append(cmd.Args, "--registry", tt.registry)
				}
				cmd.Dir, cmd.Env = dir, testenv.WithoutBed(os.Environ())
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				return string(out)
			}
			run() // the miss that builds
			if out := run(); !strings.Contains(out, "CACHE_HIT=true") {
				b.Fatalf("second run is not a hit:\n%s", out)
			}
			b.ResetTimer()
			for b.Loop() {
				run()
			}
		})
	}
}
