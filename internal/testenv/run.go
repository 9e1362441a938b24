package testenv

import (
	"bytes"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Result is one run of the built command.
type Result struct {
	Code           int
	Stdout, Stderr string
	Outputs        map[string]string // the NAME=value lines of stdout, as a dotenv file
}

// RunCommand runs the built command with args in dir, with exactly env as
// its environment less the test bed's own variables (BedEnv), and parses
// its stdout as dotenv outputs. A non-zero exit is returned in Code; a
// command that cannot run fails the test.
func RunCommand(tb testing.TB, dir string, env []string, args ...string) Result {
	tb.Helper()
	cmd := exec.Command(Binary(tb), args...)
	cmd.Dir = dir
	cmd.Env = WithoutBed(env) // never nil: nil would inherit the test's environment
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Outputs: map[string]string{}}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.Code = exitErr.ExitCode()
	case err != nil:
		tb.Fatalf("running docker-ecr-cache: %v", err)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r"), "="); ok {
			r.Outputs[k] = v
		}
	}
	return r
}

// BedEnv are the test bed's variables. They share the command's prefix
// DOCKER_ECR_CACHE_ but are none of its options, and the command knows
// nothing of them: the generic front end would refuse them as unknown.
var BedEnv = []string{RequireDockerEnv, "DOCKER_ECR_CACHE_DOCKERD_DIR"}

// WithoutBed is env without BedEnv's variables, never nil.
func WithoutBed(env []string) []string {
	out := []string{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(BedEnv, k) {
			out = append(out, kv)
		}
	}
	return out
}
