package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // htpasswd access controller
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // in-memory storage
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// RegistryOptions configures a test registry.
type RegistryOptions struct {
	// Username and Password turn on htpasswd authentication.
	Username, Password string
	// RefuseTags refuses every manifest PUT with 403 DENIED, as a registry
	// does when policy forbids the push. Blob uploads still work: the daemon
	// retries those for a minute, but not the manifest.
	RefuseTags bool
	// Delete lets clients delete manifests (storage.delete.enabled); a
	// registry without it answers DELETE with 405 UNSUPPORTED.
	Delete bool
}

// Registry is a real distribution registry served on 127.0.0.1, which the
// Docker daemon reaches over plain HTTP.
type Registry struct {
	Host string // 127.0.0.1:port

	srv *httptest.Server
	log RequestLog
}

// StartRegistry starts a registry for the test's lifetime.
func StartRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r, err := NewRegistry(opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// NewRegistry starts a registry keeping its files in dir; Close stops it.
func NewRegistry(opts RegistryOptions, dir string) (*Registry, error) {
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{"inmemory": configuration.Parameters{}},
	}
	if opts.Delete {
		cfg.Storage["delete"] = configuration.Parameters{"enabled": true}
	}
	logrus.SetLevel(logrus.FatalLevel) // the registry logs every 404 through logrus' global logger
	cfg.HTTP.Secret = "test-secret"
	if opts.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "test", "path": file}}
	}
	app := handlers.NewApp(context.Background(), cfg)
	r := &Registry{}
	r.srv = httptest.NewServer(r.log.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if opts.RefuseTags && req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		} else {
			app.ServeHTTP(w, req)
		}
	})))
	r.Host = strings.TrimPrefix(r.srv.URL, "http://")
	return r, nil
}

// Close stops the registry.
func (r *Registry) Close() { r.srv.Close() }

// Requests returns "METHOD /path status" for every request so far but the
// API version checks (GET /v2/).
func (r *Registry) Requests() []string { return r.log.Requests() }

// Reset forgets the requests so far.
func (r *Registry) Reset() { r.log.Reset() }

// RemoveImages removes the daemon's images named under any of the
// registry hosts (127.0.0.1:port/…). A test registry's port may be one an
// earlier run used, whose images are still on the daemon under the same
// names: a test that expects a miss removes them first. Best effort: with
// no daemon it does nothing.
func RemoveImages(hosts ...string) {
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").Output()
	if err != nil {
		return
	}
	var refs []string
	for _, ref := range strings.Fields(string(out)) {
		for _, h := range hosts {
			if strings.HasPrefix(ref, h+"/") {
				refs = append(refs, ref)
			}
		}
	}
	if len(refs) > 0 {
		_ = exec.Command("docker", append([]string{"image", "rm", "-f"}, refs...)...).Run()
	}
}
