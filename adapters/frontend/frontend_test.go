package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

type plainStyle struct{}

func (plainStyle) Group(w io.Writer, p engine.Phase, s string) { fmt.Fprintln(w, "== "+p.Title(s)) }
func (plainStyle) EndGroup(io.Writer)                          {}
func (plainStyle) Warning(w io.Writer, m string)               { fmt.Fprintln(w, "warning: "+m) }
func (plainStyle) Error(w io.Writer, err error)                { fmt.Fprintf(w, "error: %v\n", err) }
func (plainStyle) Mask(io.Writer, string)                      {}
func (plainStyle) Guard(line string) string                    { return line }

// fakeFrontEnd loads a fixed configuration and records what it emits.
type fakeFrontEnd struct {
	cfg     engine.Config
	loadErr error
	log     *report.Reporter
	emitted bool
}

func (f *fakeFrontEnd) Load() (engine.Config, error) { return f.cfg, f.loadErr }
func (f *fakeFrontEnd) Reporter() *report.Reporter   { return f.log }
func (f *fakeFrontEnd) Emit(engine.Result) error     { f.emitted = true; return nil }

func newFake(t *testing.T, loadErr error, edit func(*engine.Config)) (*fakeFrontEnd, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	c := engine.NewConfig()
	c.WorkDir = t.TempDir()
	c.RegistryProvider = engine.ProviderLocal
	if err := os.WriteFile(filepath.Join(c.WorkDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&c)
	}
	return &fakeFrontEnd{cfg: c, loadErr: loadErr, log: report.New(&buf, plainStyle{})}, &buf
}

// Load's and Validate's problems are shown at once, once, as a
// configuration error marked as shown; nothing is emitted.
func TestRunConfigError(t *testing.T) {
	t.Parallel()
	fe, out := newFake(t, engine.Configf("unknown option %q", "cach-on"), func(c *engine.Config) { c.MaxAgeDays = 0 })
	err := Run(context.Background(), fe)
	var reported *Reported
	if !errors.As(err, &reported) || !engine.IsConfigError(err) {
		t.Errorf("Run = %v, want a configuration error marked as shown", err)
	}
	want := "error: unknown option \"cach-on\"\nmax-age-days is 0: give a whole number of days, 1 or more\n"
	if out.String() != want || fe.emitted {
		t.Errorf("log %q (emitted %v), want %q", out.String(), fe.emitted, want)
	}
}

// A local-provider run that cannot reach a daemon is a runtime failure,
// shown once, that names the ways to give it one.
func TestRunNoDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	fe, out := newFake(t, nil, nil)
	err := Run(context.Background(), fe)
	var reported *Reported
	if !errors.As(err, &reported) || engine.IsConfigError(err) {
		t.Errorf("Run = %v, want a runtime error marked as shown", err)
	}
	if !strings.Contains(out.String(), "error: registry-provider local keeps its images on the Docker daemon: no Docker daemon answers") || strings.Count(out.String(), "error: ") != 1 || fe.emitted {
		t.Errorf("log %q (emitted %v), want one error", out.String(), fe.emitted)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	fe, _ := newFake(t, nil, nil)
	k, err := Key(context.Background(), fe.cfg, nil)
	if err != nil || len(k.Tag) != key.Length || len(k.Inputs) == 0 {
		t.Errorf("Key = %+v, %v", k, err)
	}
	if _, err := Key(context.Background(), fe.cfg, errors.New("the environment cannot be read")); err == nil || engine.IsConfigError(err) {
		t.Errorf("a runtime error from Load: %v", err)
	}
	fe.cfg.Platform = "amd64"
	if _, err := Key(context.Background(), fe.cfg, nil); !engine.IsConfigError(err) || !strings.Contains(err.Error(), "platform") {
		t.Errorf("an invalid platform: %v", err)
	}
}

func TestEnvSecrets(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DOCKER_ECR_CACHE_REGISTRY_PASSWORD": "registry-pass",
		"AWS_SESSION_TOKEN":                  "session-token",
		"DOCKER_ECR_CACHE_REGISTRY_USERNAME": "user",
	}
	got := EnvSecrets(func(k string) string { return env[k] })
	if want := []string{"registry-pass", "session-token"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EnvSecrets = %q, want %q", got, want)
	}
}
