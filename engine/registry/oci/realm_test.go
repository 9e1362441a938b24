package oci

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// tokenRegistry is an https registry that answers 401 with a bearer
// challenge naming realm, and serves tokens at /token on its own host and
// port, over https or plain http (REALM in realm stands for the host and
// port). It counts the credentials /token is sent. Its registry API
// answers only over https, as a registry with TLS does.
func tokenRegistry(t *testing.T, realm string) (c *Client, host string, sent *atomic.Int32) {
	t.Helper()
	sent = &atomic.Int32{}
	certs := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate and a client trusting it
	t.Cleanup(certs.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			if _, _, ok := r.BasicAuth(); ok {
				sent.Add(1)
			}
			_, _ = w.Write([]byte(`{"token":"tok-123"}`))
		case r.TLS == nil:
			http.Error(w, "Client sent an HTTP request to an HTTPS server.", http.StatusBadRequest)
		case r.Header.Get("Authorization") != "Bearer tok-123":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+strings.Replace(realm, "REALM", host, 1)+`/token",service="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("f", 64))
			w.Header().Set("Content-Length", "100")
		}
	})}
	go func() { _ = srv.Serve(tlsOrPlain{ln, certs.TLS}) }()
	t.Cleanup(func() { srv.Close() })
	c, _ = client(t)
	c.Transport = certs.Client().Transport
	return c, host, sent
}

// tlsOrPlain serves TLS to connections that start with a TLS handshake,
// and plain HTTP to the others, on one port.
type tlsOrPlain struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsOrPlain) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	first, err := r.Peek(1)
	pc := peeked{conn, r}
	if err == nil && first[0] == 0x16 { // a TLS handshake record
		return tls.Server(pc, l.cfg), nil
	}
	return pc, nil
}

type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestRealmMustBeHTTPS: the credential goes to the token realm only over
// https, or over http when registry and realm are both on loopback; a
// refusal is an error, not an anonymous lookup.
func TestRealmMustBeHTTPS(t *testing.T) {
	t.Parallel()
	auth := engine.Auth{Username: "ci", Password: "pw"}
	tests := []struct {
		name  string
		realm string
		want  string // in the error; "" for a lookup that succeeds
	}{
		{name: "https registry, http realm", realm: "http://REALM",
			want: "names the token realm http://127.0.0.1:"},
		{name: "https registry, http realm elsewhere", realm: "http://token.example",
			want: "names the token realm http://token.example/token: refusing to send credentials to a realm without TLS"},
		{name: "a realm that is no URL", realm: "::", want: `names the token realm "::/token", which is not a URL`},
		{name: "https registry, https realm", realm: "https://REALM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, host, sent := tokenRegistry(t, tt.realm)
			digest, err := c.Lookup(context.Background(), host+"/cache", "t", auth)
			if tt.want == "" {
				if err != nil || digest == "" || sent.Load() == 0 {
					t.Fatalf("Lookup = %q, %v; credentials sent %d times", digest, err, sent.Load())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, engine.ErrNotFound) {
				t.Errorf("Lookup = %q, %v; want an error containing %q", digest, err, tt.want)
			}
			if n := sent.Load(); n != 0 {
				t.Errorf("the credential was sent to the realm %d times", n)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestChallengeParam(t *testing.T) {
	t.Parallel()
	for params, want := range map[string]string{
		`realm="https://a/t",service="s"`:  "https://a/t",
		`service="s,x", realm="http://b"`:  "http://b",
		`service=s,realm=https://c/token`:  "https://c/token",
		`Realm="https://d"`:                "https://d",
		`service="unterminated, realm="x"`: "",
	} {
		if got, _ := challengeParam(params, "realm"); got != want {
			t.Errorf("challengeParam(%q) = %q, want %q", params, got, want)
		}
	}
}

// plainTokenRegistry is a plain-HTTP registry on 127.0.0.1 that answers 401
// with a bearer challenge, and a token service on another 127.0.0.1 port.
// realm makes the challenge's realm from the registry's and the token
// service's ports. It counts the credentials the token service is sent.
func plainTokenRegistry(t *testing.T, realm func(regPort, tokenPort string) string) (host string, sent *atomic.Int32) {
	t.Helper()
	sent = &atomic.Int32{}
	token := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			sent.Add(1)
		}
		_, _ = w.Write([]byte(`{"token":"tok-123"}`))
	})
	tok := httptest.NewServer(token)
	t.Cleanup(tok.Close)
	var reg *httptest.Server
	reg = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			token(w, r)
		case r.Header.Get("Authorization") != "Bearer tok-123":
			_, regPort, _ := net.SplitHostPort(reg.Listener.Addr().String())
			_, tokenPort, _ := net.SplitHostPort(tok.Listener.Addr().String())
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm(regPort, tokenPort)+`",service="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("f", 64))
			w.Header().Set("Content-Length", "100")
		}
	}))
	t.Cleanup(reg.Close)
	return reg.Listener.Addr().String(), sent
}

// TestLoopbackHTTPRealm: a plain-HTTP loopback registry may name an http://
// token realm on its own host and port, or at localhost; a realm at a
// loopback IP address on another port is refused, as go-containerregistry
// refuses it, with a message that says so and before any credential goes.
func TestLoopbackHTTPRealm(t *testing.T) {
	t.Parallel()
	auth := engine.Auth{Username: "ci", Password: "pw"}
	tests := []struct {
		name  string
		realm func(regPort, tokenPort string) string
		want  string // in the error; "" for a lookup that succeeds
	}{
		{"the registry's own host and port", func(r, _ string) string { return "http://127.0.0.1:" + r + "/token" }, ""},
		{"localhost on another port", func(_, p string) string { return "http://localhost:" + p + "/token" }, ""},
		{"127.0.0.1 on another port", func(_, p string) string { return "http://127.0.0.1:" + p + "/token" },
			"names the token realm http://127.0.0.1:"},
		{"::1 on another port", func(_, p string) string { return "http://[::1]:" + p + "/token" },
			"names the token realm http://[::1]:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host, sent := plainTokenRegistry(t, tt.realm)
			c, _ := client(t)
			digest, err := c.Lookup(context.Background(), host+"/cache", "t", auth)
			if tt.want == "" {
				if err != nil || digest == "" || sent.Load() == 0 {
					t.Fatalf("Lookup = %q, %v; credentials sent %d times", digest, err, sent.Load())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "use the registry's own host and port, or localhost") {
				t.Errorf("Lookup = %q, %v; want an error containing %q", digest, err, tt.want)
			}
			if n := sent.Load(); n != 0 {
				t.Errorf("the credential was sent to the realm %d times", n)
			}
		})
	}
}
