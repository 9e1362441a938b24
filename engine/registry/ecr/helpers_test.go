package ecr_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ecr"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/ecrtest"
)

// recorder is an engine.Reporter that keeps what it is told.
type recorder struct {
	mu                  sync.Mutex
	infos, warns, masks []string
}

func (r *recorder) Phase(engine.Phase, string) {}
func (r *recorder) Infof(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.infos = append(r.infos, fmt.Sprintf(format, args...))
}
func (r *recorder) Warnf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warns = append(r.warns, fmt.Sprintf(format, args...))
}
func (r *recorder) Mask(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.masks = append(r.masks, s)
}
func (r *recorder) Progress() io.Writer { return io.Discard }

func (r *recorder) warnings() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.warns, "\n")
}

// text is everything shown: infos and warnings.
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(append(append([]string(nil), r.infos...), r.warns...), "\n")
}

// serve starts the ECR test server and gives the test its environment.
func serve(t *testing.T) *ecrtest.Server {
	t.Helper()
	s := ecrtest.Start(t, ecrtest.Options{})
	s.Setenv(t)
	return s
}

// config is a configuration for repository name, pointed at s's registry.
func config(s *ecrtest.Server, name string) engine.Config {
	c := engine.NewConfig()
	c.ECRName = name
	if s != nil {
		c.RegistryHostname = s.RegistryHost
	}
	return c
}

func provider(t *testing.T, c engine.Config) (*ecr.Registry, *recorder) {
	t.Helper()
	log := &recorder{}
	r, err := ecr.New(context.Background(), &c, log)
	if err != nil {
		t.Fatalf("ecr.New: %v", err)
	}
	return r, log
}

func calls(s *ecrtest.Server) string { return strings.Join(s.Calls(), " ") }

// errorSays checks that there is an error and that it says each of wants.
func errorSays(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one that says %q", wants)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
