package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"docker-ecr-cache": func() { os.Exit(realMain(context.Background(), os.Args[1:], frontend.System())) },
	})
}

// TestScripts runs the end-to-end command tests in testdata/script against
// the real Docker daemon and in-process registries, three per script:
// $REGISTRY is open, $AUTH_REGISTRY needs $AUTH_USER / $AUTH_PASS, and
// $READONLY_REGISTRY refuses to store tags.
func TestScripts(t *testing.T) {
	dockerHost := testenv.Docker(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			open, err := testenv.NewRegistry(testenv.RegistryOptions{}, env.WorkDir)
			if err != nil {
				return err
			}
			auth, err := testenv.NewRegistry(testenv.RegistryOptions{Username: "ci", Password: "s3cret-pass"}, env.WorkDir)
			if err != nil {
				return err
			}
			readOnly, err := testenv.NewRegistry(testenv.RegistryOptions{RefuseTags: true}, env.WorkDir)
			if err != nil {
				return err
			}
			env.Defer(open.Close)
			env.Defer(auth.Close)
			env.Defer(readOnly.Close)
			// The scripts' keys are fixed: images an earlier run left
			// under these ports would be hits.
			testenv.RemoveImages(open.Host, auth.Host, readOnly.Host)
			env.Defer(func() { testenv.RemoveImages(open.Host, auth.Host, readOnly.Host) })
			env.Values["registries"] = map[string]*testenv.Registry{"open": open, "auth": auth, "readonly": readOnly}
			env.Setenv("DOCKER_HOST", dockerHost)
			env.Setenv("DOCKER_HOST_SAVED", dockerHost)
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("REGISTRY", open.Host)
			env.Setenv("AUTH_REGISTRY", auth.Host)
			env.Setenv("READONLY_REGISTRY", readOnly.Host)
			env.Setenv("AUTH_USER", "ci")
			env.Setenv("AUTH_PASS", "s3cret-pass")
			// A name unique to this script, for images on the shared daemon.
			env.Setenv("NAME", fmt.Sprintf("build-cache/%s-%d", strings.ToLower(filepath.Base(env.WorkDir)), time.Now().UnixNano()))
			b, err := os.ReadFile("/bin/busybox")
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(env.WorkDir, "busybox"), b, 0o755)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"stub":     cmdStub,
			"requests": cmdRequests,
		},
	})
}

// exits N command args...: runs command and checks its exit code is N.
// cmdStub: stub FILE PROGRAM copies FILE to PROGRAM, mode 0755, through
// testenv.WriteExecutableFile, so that a parallel script's fork cannot make
// running it fail with "text file busy" (as cp then chmod can).
func cmdStub(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: stub FILE PROGRAM")
	}
	ts.Check(testenv.WriteExecutableFile(ts.MkAbs(args[1]), ts.ReadFile(args[0])))
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// requests open|auth|readonly [reset]: prints the registry's request log as stdout,
// one "METHOD /path status" a line, or forgets it.
func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: requests open|auth|readonly [reset]")
	}
	r := ts.Value("registries").(map[string]*testenv.Registry)[args[0]]
	if r == nil {
		ts.Fatalf("no registry %q", args[0])
	}
	if len(args) > 1 && args[1] == "reset" {
		r.Reset()
		return
	}
	for _, line := range r.Requests() {
		fmt.Fprintln(ts.Stdout(), line)
	}
}
