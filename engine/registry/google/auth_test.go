package google

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/googletest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// noADC is an adcFinder for a machine without Application Default
// Credentials. The real search would probe the metadata server, which
// tests must not reach.
func noADC(context.Context, *http.Client) (*adc, error) {
	return nil, fmt.Errorf("%w: google: could not find default credentials", errNoADC)
}

func newRegistry(t *testing.T, c *engine.Config, log engine.Reporter) *Registry {
	t.Helper()
	return New(c, log)
}

// TestAuthFromServiceAccountKey runs the real golang.org/x/oauth2/google
// A token about to expire is replaced when Auth is asked again, as the
// engine does before a push: a build may outlast an access token.
func TestAuthRefreshesAnExpiringToken(t *testing.T) {
	s := googletest.Start(t, googletest.Options{ExpiresIn: 60})
	s.Setenv(t)
	r := newRegistry(t, config("gcr", s.Project, s.RegistryHost, "cache"), &recorder{})
	for i := 1; i <= 2; i++ {
		if _, err := r.Auth(context.Background()); err != nil {
			t.Fatalf("Auth %d: %v", i, err)
		}
		if s.Issued() != i {
			t.Errorf("after Auth %d the token endpoint issued %d tokens, want %d", i, s.Issued(), i)
		}
	}
}

// path: GOOGLE_APPLICATION_CREDENTIALS names a key file whose token_uri is
// the test token endpoint.
func TestAuthFromServiceAccountKey(t *testing.T) {
	s := googletest.Start(t, googletest.Options{})
	s.Setenv(t)
	log := &recorder{}
	c := config("gcr", s.Project, s.RegistryHost, "cache")
	c.Getenv = dockerConfig(t, `{"auths":{"`+s.RegistryHost+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("docker:config"))+`"}}}`)
	r := newRegistry(t, c, log)

	auth, err := r.Auth(context.Background())
	if err != nil {
		t.Fatalf("Auth: %v (token server refusals: %q)", err, s.Refusals())
	}
	want := engine.Auth{Server: s.RegistryHost, Username: "oauth2accesstoken", Password: s.Token}
	if auth != want {
		t.Errorf("Auth = %+v, want %+v (ADC wins over the Docker config)", auth, want)
	}
	if again, _ := r.Auth(context.Background()); again != want || s.Issued() != 1 {
		t.Errorf("second Auth = %+v after %d tokens; want the same credential and one token per run", again, s.Issued())
	}
	if log.masked(s.Token) {
		t.Errorf("the provider masked the access token: the engine's auth step masks, once")
	}
	if !strings.Contains(log.text(), "service account "+s.ClientEmail) || strings.Contains(log.text(), s.Token) {
		t.Errorf("log = %q, want the service account named and no token", log.text())
	}
}

// TestAuthRefusedKeyIsAnError: credentials that are there but refused are
// an error, not a reason to fall back.
func TestAuthRefusedKeyIsAnError(t *testing.T) {
	s := googletest.Start(t, googletest.Options{})
	var key map[string]string
	if err := json.Unmarshal(s.KeyFile(), &key); err != nil {
		t.Fatal(err)
	}
	key["client_email"] = "deleted@" + s.Project + ".iam.gserviceaccount.com"
	b, _ := json.Marshal(key)
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	c := config("gcr", s.Project, s.RegistryHost, "cache")
	c.Getenv = dockerConfig(t, `{"auths":{"`+s.RegistryHost+`":{"auth":"ZG9ja2VyOmNvbmZpZw=="}}}`)

	_, err := newRegistry(t, c, engine.Discard).Auth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused the credential") || !strings.Contains(err.Error(), "deleted@") {
		t.Fatalf("err = %v, want the token endpoint's refusal, naming the service account", err)
	}
	if s.Issued() != 0 {
		t.Errorf("%d tokens issued", s.Issued())
	}
}

func TestAuthBrokenCredentialsFileIsAnError(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	c := config("gcr", "foo-bar-123456", "127.0.0.1:1", "cache")
	c.Getenv = dockerConfig(t, `{"auths":{"127.0.0.1:1":{"auth":"ZG9ja2VyOmNvbmZpZw=="}}}`)
	_, err := newRegistry(t, c, engine.Discard).Auth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Fatalf("err = %v, want an error naming GOOGLE_APPLICATION_CREDENTIALS", err)
	}
}

func TestAuthFallsBackToDockerConfig(t *testing.T) {
	log := &recorder{}
	c := config("artifact-registry", "my-project", "europe-west1-docker.pkg.dev", "build-cache/app")
	c.Getenv = dockerConfig(t, `{"auths":{"https://europe-west1-docker.pkg.dev":{"auth":"`+
		base64.StdEncoding.EncodeToString([]byte("oauth2accesstoken:from-config"))+`"}}}`)
	r := newRegistry(t, c, log)
	r.findADC = noADC

	auth, err := r.Auth(context.Background())
	want := engine.Auth{Server: "europe-west1-docker.pkg.dev", Username: "oauth2accesstoken", Password: "from-config"}
	if err != nil || auth != want {
		t.Fatalf("Auth = %+v, %v; want %+v", auth, err, want)
	}
	if !strings.Contains(log.text(), "Docker credential helper or config") || strings.Contains(log.text(), "from-config") {
		t.Errorf("log = %q; want the source named, not the password", log.text())
	}
}

// TestAuthFallsBackToCredentialHelper runs a stand-in for
// docker-credential-gcloud, as gcloud auth configure-docker sets up.
func TestAuthFallsBackToCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	helper := "#!/bin/sh\nread host\n[ \"$1\" = get ] && [ \"$host\" = us-docker.pkg.dev ] || exit 1\n" +
		`echo '{"ServerURL":"us-docker.pkg.dev","Username":"_dcgcloud_token","Secret":"helper-token"}'` + "\n"
	testenv.WriteExecutable(t, filepath.Join(bin, "docker-credential-gcloud"), helper)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	c := config("artifact-registry", "my-project", "us-docker.pkg.dev", "build-cache/app")
	c.Getenv = dockerConfig(t, `{"credHelpers":{"us-docker.pkg.dev":"gcloud"}}`)
	r := newRegistry(t, c, engine.Discard)
	r.findADC = noADC

	auth, err := r.Auth(context.Background())
	if err != nil || auth.Username != "_dcgcloud_token" || auth.Password != "helper-token" {
		t.Fatalf("Auth = %+v, %v; want the helper's credential", auth, err)
	}
}

func TestAuthWithoutCredentialsNamesTheFixes(t *testing.T) {
	c := config("gcr", "foo-bar-123456", "", "cache")
	c.Getenv = dockerConfig(t, "")
	r := newRegistry(t, c, engine.Discard)
	r.findADC = noADC

	_, err := r.Auth(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	for _, fix := range []string{"no credentials for gcr.io", "GOOGLE_APPLICATION_CREDENTIALS", "gcloud auth application-default login",
		"workload identity federation", "credential helper", "gcloud auth configure-docker"} {
		if !strings.Contains(err.Error(), fix) {
			t.Errorf("error %q does not say %q", err, fix)
		}
	}
	if errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing credentials must not look like a miss")
	}
}

// TestTokenRequestsAreRetried: an overloaded token endpoint (503, or 429
// with Retry-After) costs a retry, logged, not the run.
func TestTokenRequestsAreRetried(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		s := googletest.Start(t, googletest.Options{})
		s.Setenv(t)
		s.Unavailable(1, status)
		log := &recorder{}
		c := config("gcr", s.Project, s.RegistryHost, "cache")
		c.Getenv = dockerConfig(t, "")
		start := time.Now()
		auth, err := newRegistry(t, c, log).Auth(context.Background())
		if err != nil || auth.Password != s.Token {
			t.Fatalf("HTTP %d once: Auth = %+v, %v; want the token", status, auth, err)
		}
		if !strings.Contains(log.text(), "warn POST "+s.URL+": HTTP "+fmt.Sprint(status)) || !strings.Contains(log.text(), "retrying") {
			t.Errorf("HTTP %d once: log %q, want the retry and its reason", status, log.text())
		}
		if status == http.StatusTooManyRequests && time.Since(start) < time.Second {
			t.Errorf("Retry-After: 1 was not honoured (%s)", time.Since(start))
		}
	}
}
