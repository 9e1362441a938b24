package ecrtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deadEndpoint is where any other AWS service would be asked: a loopback
// port nothing listens on, so that a stray call fails instead of leaving
// the machine.
const deadEndpoint = "http://127.0.0.1:9"

// Env is the whole AWS environment of a process that reaches the server:
// static credentials, the ECR and STS endpoints (every other AWS API on a
// dead loopback port), region us-east-1, empty shared config and
// credentials files, no instance metadata. Nothing in it can reach AWS.
func (s *Server) Env(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	for _, f := range []string{cfg, creds} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretAccessKey,
		"AWS_ENDPOINT_URL_ECR=" + s.URL,
		"AWS_ENDPOINT_URL_STS=" + s.URL,
		"AWS_ENDPOINT_URL=" + deadEndpoint,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + cfg,
		"AWS_SHARED_CREDENTIALS_FILE=" + creds,
	}
}

// Setenv gives the test process Env, after removing every other AWS_*
// variable; all are restored when the test ends.
func (s *Server) Setenv(t *testing.T) {
	t.Helper()
	ClearAWSEnv(t)
	for _, kv := range s.Env(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// ClearAWSEnv unsets every AWS_* variable for the test, points the shared
// files at empty ones, turns instance metadata off and sends every AWS API
// to a dead loopback port, so that nothing of the machine's AWS setup
// leaks in and nothing reaches AWS.
func ClearAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", deadEndpoint)
}
