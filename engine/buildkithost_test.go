package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildKitHostCheck(t *testing.T) {
	t.Parallel()
	pem := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host BuildKitHost
		want string // part of the error; empty: valid
	}{
		{BuildKitHost{}, ""},
		{BuildKitHost{Addr: "tcp://buildkitd:1234"}, ""},
		{BuildKitHost{Addr: "tcp://buildkitd:1234", TLSCA: pem, TLSCert: pem, TLSKey: pem}, ""},
		{BuildKitHost{Addr: "unix:///run/buildkit/buildkitd.sock"}, ""},
		{BuildKitHost{Addr: "docker-container://buildkitd"}, ""},
		{BuildKitHost{Addr: "kube-pod://buildkitd-0"}, ""},
		{BuildKitHost{TLSCA: pem}, "need buildkit-host"},
		{BuildKitHost{Addr: "buildkitd:1234"}, `buildkit-host "buildkitd:1234" is not a BuildKit address: write tcp://host:port`},
		{BuildKitHost{Addr: "http://buildkitd:1234"}, "is not a BuildKit address"},
		{BuildKitHost{Addr: "tcp://buildkitd"}, "has no port: write tcp://buildkitd:1234"},
		{BuildKitHost{Addr: "unix://"}, "has no socket path"},
		{BuildKitHost{Addr: "kube-pod://"}, "has no name: write kube-pod://NAME"},
		{BuildKitHost{Addr: "unix:///s.sock", TLSCA: pem}, "are for a tcp:// buildkit-host"},
		{BuildKitHost{Addr: "tcp://b:1", TLSCert: pem}, "buildkit-tls-cert and buildkit-tls-key go together"},
		{BuildKitHost{Addr: "tcp://b:1", TLSCA: "/nonexistent/ca.pem"}, "buildkit-tls-ca: stat /nonexistent/ca.pem"},
	} {
		err := tc.host.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.host, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.host, err, tc.want)
		}
	}
}

func TestCacheRef(t *testing.T) {
	t.Parallel()
	if got := CacheRef("127.0.0.1:5000/app", ""); got != "127.0.0.1:5000/app:buildcache" {
		t.Errorf("default cache ref = %q", got)
	}
	if got := CacheRef("127.0.0.1:5000/app", "ghcr.io/org/cache:app"); got != "ghcr.io/org/cache:app" {
		t.Errorf("cache-to = %q", got)
	}
}

func TestCheckUnhashedBuildArgs(t *testing.T) {
	t.Parallel()
	if err := CheckUnhashedBuildArgs([]string{"NODE_VERSION=20", "TOKEN"}, []string{"BUILD_NUMBER", "GIT_SHA=abc"}); err != nil {
		t.Errorf("distinct names: %v", err)
	}
	err := CheckUnhashedBuildArgs([]string{"NODE_VERSION=20", "BUILD_NUMBER=1"}, []string{"BUILD_NUMBER=2", "1X"})
	for _, want := range []string{
		"BUILD_NUMBER is in both build-args and unhashed-build-args",
		`unhashed-build-args entry "1X" does not start with a valid NAME`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one saying %q", err, want)
		}
	}
}
