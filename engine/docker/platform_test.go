package docker

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/client"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestPlatformRemembered: a daemon on a local socket is asked for its
// platform once for the socket's life; a new socket at the same path (a
// restarted daemon), a damaged record or a daemon reached by tcp are asked
// again, and a cache that cannot be written only costs the question.
func TestPlatformRemembered(t *testing.T) {
	t.Parallel()
	testenv.Docker(t)
	bed, _ := newTestClient(t)
	cache := t.TempDir()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	var log testenv.RequestLog
	serve := func() func() {
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		// The proxy dials the test bed's daemon as its client does.
		proxy := &httputil.ReverseProxy{
			Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
			Transport: bed.api.HTTPClient().Transport,
		}
		srv := &http.Server{Handler: log.Handler(proxy)}
		go func() { _ = srv.Serve(l) }()
		return func() { _ = srv.Close() }
	}
	versions := func() int {
		n := len(slices.DeleteFunc(log.Requests(), func(r string) bool { return !strings.Contains(r, "/version ") }))
		log.Reset()
		return n
	}
	ask := func(host, dir string) string {
		t.Helper()
		api, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		c := &Client{api: api, platforms: dir}
		defer c.Close()
		p, err := c.Platform(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if p != engine.DefaultPlatform() {
			t.Errorf("Platform = %q, want %q", p, engine.DefaultPlatform())
		}
		return p
	}

	stop := serve()
	host := "unix://" + sock
	ask(host, cache)
	ask(host, cache)
	if n := versions(); n != 1 {
		t.Errorf("two clients of one socket asked the version %d times, want 1", n)
	}

	files, _ := filepath.Glob(filepath.Join(cache, "*"))
	if len(files) != 1 {
		t.Fatalf("remembered in %q, want one file", files)
	}
	for _, damaged := range []string{"linux", "linux/amd64\nextra", strings.Repeat("x", 100)} {
		if err := os.WriteFile(files[0], []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		ask(host, cache)
		if n := versions(); n != 1 {
			t.Errorf("with %q remembered, the version was asked %d times, want 1", damaged, n)
		}
	}

	stop()
	_ = os.Remove(sock)
	stop = serve()
	defer stop()
	ask(host, cache)
	if n := versions(); n != 1 {
		t.Errorf("a new socket: the version was asked %d times, want 1", n)
	}

	unwritable := filepath.Join(cache, "file")
	if err := os.WriteFile(unwritable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ask(host, filepath.Join(unwritable, "dir"))
	ask(host, filepath.Join(unwritable, "dir"))
	if n := versions(); n != 2 {
		t.Errorf("with nowhere to remember, the version was asked %d times, want 2", n)
	}

	tcp := &http.Server{Handler: log.Handler(&httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
		Transport: bed.api.HTTPClient().Transport,
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tcp.Serve(l) }()
	defer tcp.Close()
	u := url.URL{Scheme: "tcp", Host: l.Addr().String()}
	ask(u.String(), cache)
	ask(u.String(), cache)
	if n := versions(); n != 2 {
		t.Errorf("over tcp, the version was asked %d times, want 2", n)
	}
}
