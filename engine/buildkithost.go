package engine

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
)

// BuildKitSchemes are the forms of a buildkit-host address.
var BuildKitSchemes = []string{"tcp", "unix", "docker-container", "kube-pod"}

// BuildKitHost is the BuildKit daemon that builds instead of the job's
// Docker daemon: the buildkit-host option, and its TLS files.
type BuildKitHost struct {
	// Addr is tcp://host:port, unix:///path, docker-container://name or
	// kube-pod://name; empty means the job's Docker daemon builds.
	Addr string
	// TLS for a tcp:// address: the CA that signed the daemon's
	// certificate, and the client's certificate and key (buildkit-tls-ca,
	// buildkit-tls-cert, buildkit-tls-key).
	TLSCA, TLSCert, TLSKey string
}

// Check returns every problem with h, naming the options, for Validate.
func (h BuildKitHost) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tls := h.TLSCA != "" || h.TLSCert != "" || h.TLSKey != ""
	if h.Addr == "" {
		if tls {
			add("buildkit-tls-ca, buildkit-tls-cert and buildkit-tls-key need buildkit-host: set it, or remove them")
		}
		return errors.Join(errs...)
	}
	if hasUserinfo(h.Addr) {
		// Checked first and alone: no other message may echo the password.
		return fmt.Errorf("buildkit-host %q holds a user name or password: the BuildKit host takes TLS client certificates "+
			"(buildkit-tls-cert, buildkit-tls-key), not a password in its address: remove the part before @", redactUserinfo(h.Addr))
	}
	u, err := url.Parse(h.Addr)
	switch {
	case err != nil || !slices.Contains(BuildKitSchemes, u.Scheme):
		add("buildkit-host %q is not a BuildKit address: write tcp://host:port, unix:///path, docker-container://name or kube-pod://name", h.Addr)
	case u.Scheme == "tcp" && u.Port() == "":
		add("buildkit-host %q has no port: write tcp://%s:1234", h.Addr, u.Hostname())
	case u.Scheme == "tcp" && portProblem(u.Port()) != "":
		add("buildkit-host %q: %s", h.Addr, portProblem(u.Port()))
	case u.Scheme == "unix" && u.Path == "":
		add("buildkit-host %q has no socket path: write unix:///run/buildkit/buildkitd.sock", h.Addr)
	case (u.Scheme == "docker-container" || u.Scheme == "kube-pod") && u.Host == "":
		add("buildkit-host %q has no name: write %s://NAME", h.Addr, u.Scheme)
	case u.Scheme != "tcp" && tls:
		add("buildkit-tls-ca, buildkit-tls-cert and buildkit-tls-key are for a tcp:// buildkit-host, not %q: remove them", h.Addr)
	}
	if (h.TLSCert == "") != (h.TLSKey == "") {
		add("buildkit-tls-cert and buildkit-tls-key go together: give both, or neither")
	}
	for _, f := range []struct{ name, path string }{{"buildkit-tls-ca", h.TLSCA}, {"buildkit-tls-cert", h.TLSCert}, {"buildkit-tls-key", h.TLSKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add("%s: %v: give the path of a PEM file", f.name, err)
		}
	}
	return errors.Join(errs...)
}

// CacheRef is where a build on a BuildKit host keeps its full layer cache:
// cacheTo (the cache-to option) when set, else <repository>:buildcache.
func CacheRef(repository, cacheTo string) string {
	if cacheTo != "" {
		return cacheTo
	}
	return repository + ":buildcache"
}
