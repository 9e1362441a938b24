// Package bkpackagestest stands in for a Buildkite Packages container
// registry and for the agent that gets a job's OIDC token for it.
//
// Agent writes a stub buildkite-agent, which answers `oidc request-token
// --audience AUDIENCE` as the real one does, with a token signed by the
// server's key, and refuses any other audience. The registry is a real
// distribution registry behind a front that takes only Basic
// buildkite:TOKEN where TOKEN is a token of that key for the registry's
// audience, not expired, as Buildkite Packages takes the OIDC token as the
// password of docker login.
package bkpackagestest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// Defaults.
const (
	Org      = "acme"
	Registry = "build-cache"
	User     = "buildkite"
)

// Server is the registry front and the key that signs the agent's tokens.
type Server struct {
	Host     string            // 127.0.0.1:port: use as registry-hostname
	Audience string            // https://Host/Org/Registry
	Token    string            // the OIDC token the stub agent hands out
	Backend  *testenv.Registry // the registry behind the front

	key *rsa.PrivateKey
	log testenv.RequestLog // every request to the front
}

// Start starts the front and its registry for the test's lifetime.
func Start(t testing.TB) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{key: key, Backend: testenv.StartRegistry(t, testenv.RegistryOptions{})}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: s.Backend.Host})
	srv := httptest.NewServer(s.log.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authorized(r) {
			r.Host = s.Backend.Host
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Buildkite Packages"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	})))
	t.Cleanup(srv.Close)
	s.Host = strings.TrimPrefix(srv.URL, "http://")
	s.Audience = "https://" + s.Host + "/" + Org + "/" + Registry
	s.Token = s.Sign(t, s.Audience, time.Now().Add(10*time.Minute))
	return s
}

// Sign makes a token of the server's key for audience, as the agent's
// OIDC tokens are: RS256, Buildkite's claims.
func (s *Server) Sign(t testing.TB, audience string, expires time.Time) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss":               "https://agent.buildkite.com",
		"sub":               "organization:" + Org + ":pipeline:app:ref:refs/heads/main:commit:abc:step:build",
		"aud":               audience,
		"iat":               now.Unix(),
		"nbf":               now.Unix(),
		"exp":               expires.Unix(),
		"organization_slug": Org,
		"pipeline_slug":     "app",
		"job_id":            testenv.RandomHex(16),
	})
	signed, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// authorized reports whether r carries Basic buildkite:TOKEN with a valid
// token of the server's key for its audience.
func (s *Server) authorized(r *http.Request) bool {
	user, token, ok := r.BasicAuth()
	if !ok || user != User {
		return false
	}
	_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.Audience), jwt.WithExpirationRequired())
	return err == nil
}

// Requests returns "METHOD /path status" for every request to the front
// but the API checks (GET /v2/).
func (s *Server) Requests() []string { return s.log.Requests() }

// Agent writes a stub buildkite-agent into a new directory, to be put
// first on PATH, and returns the directory. It prints token for `oidc
// request-token --audience s.Audience`, fails as the agent does for any
// other audience, and appends its arguments to the file calls in the
// directory.
func (s *Server) Agent(t testing.TB, token string) string {
	t.Helper()
	dir := t.TempDir()
	// Shell built-ins only: a test may leave nothing else on PATH.
	script := `#!/bin/sh
echo "$*" >> "${0%/*}/calls"
if [ "$1 $2" != "oidc request-token" ]; then
	echo "buildkite-agent stub: unexpected command: $*" >&2
	exit 1
fi
shift 2
audience=
while [ $# -gt 0 ]; do
	case "$1" in
	--audience) audience=$2; shift 2 ;;
	--audience=*) audience=${1#*=}; shift ;;
	*) shift ;;
	esac
done
if [ "$audience" != '` + s.Audience + `' ]; then
	echo "fatal: failed to get OIDC token: POST https://agent.buildkite.com/v3/jobs/x/oidc/tokens: 403 Forbidden: audience $audience is not allowed" >&2
	exit 1
fi
printf '%s\n' '` + token + `'
`
	if err := os.WriteFile(filepath.Join(dir, "buildkite-agent"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Calls returns the stub agent's argument lines, one per call.
func Calls(t testing.TB, agentDir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(agentDir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}
