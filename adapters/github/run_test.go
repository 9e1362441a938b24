package github

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

func runInProcess(t *testing.T, args []string, env map[string]string) (string, error) {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), args, frontend.Env{
		Environ: environ, Getenv: func(k string) string { return env[k] }, Dir: t.TempDir(), Stdout: &stdout, Stderr: &stderr,
	})
	if stderr.Len() > 0 {
		t.Errorf("stderr: %q, want everything on stdout", stderr.String())
	}
	return stdout.String(), err
}

// A configuration error is shown once, as an annotation after the masks,
// before any daemon is needed, and is marked as shown.
func TestRunConfigError(t *testing.T) {
	t.Parallel()
	env := runnerEnv(t, map[string]string{"INPUT_CACHE_ON": "x", "INPUT_SECRETS": "NPM_TOKEN", "NPM_TOKEN": "npm-s3cret"})
	env["DOCKER_ECR_CACHE_REGISTRY_PASSWORD"] = "hunter2-password"
	out, err := runInProcess(t, nil, env)
	var reported *frontend.Reported
	if !errors.As(err, &reported) || !engine.IsConfigError(err) {
		t.Errorf("error %v: want a configuration error marked as shown", err)
	}
	want := "::add-mask::hunter2-password\n::add-mask::npm-s3cret\n::error::INPUT_CACHE_ON: unknown input"
	if !strings.HasPrefix(out, want) || strings.Count(out, "::error::") != 1 {
		t.Errorf("stdout:\n%s\nwant it to start with\n%s", out, want)
	}
}

func TestRunArguments(t *testing.T) {
	t.Parallel()
	out, err := runInProcess(t, []string{"--cache-on", "x"}, runnerEnv(t, nil))
	if !engine.IsConfigError(err) || !strings.HasPrefix(out, "::error::the github command takes no arguments") {
		t.Errorf("error %v, stdout:\n%s", err, out)
	}
}
