// Package faultproxy is a reverse proxy on loopback that fails scripted
// requests, for tests of what a client does when a registry or an API
// answers 5xx or 429, resets connections, stalls, or cuts a body.
//
// Put it in front of a test server and point the client (or dockerd, through
// an image name on the proxy's 127.0.0.1:PORT) at the proxy:
//
//	p := faultproxy.Start(t, reg.Host, faultproxy.Rule{Method: "PUT", Path: `/manifests/`, Times: 1, Fault: faultproxy.Status(503)})
//
// Every request is recorded with the answer it got.
package faultproxy

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Proxy forwards to one upstream server and applies the first rule that
// matches each request.
type Proxy struct {
	URL  string // http://127.0.0.1:port
	Host string // 127.0.0.1:port

	srv      *httptest.Server
	upstream *httputil.ReverseProxy

	mu       sync.Mutex
	rules    []*rule
	requests []Request
}

// Request is one request the proxy saw and what it answered.
type Request struct {
	Method, Path string
	Status       int    // the status sent; 0 while none is (yet), as with a reset
	Fault        string // the fault applied, "" when forwarded untouched
}

func (r Request) String() string {
	s := fmt.Sprintf("%s %s %d", r.Method, r.Path, r.Status)
	if r.Fault != "" {
		s += " " + r.Fault
	}
	return s
}

// Start starts a proxy to upstream (host:port or a URL) for the test's lifetime.
func Start(t testing.TB, upstream string, rules ...Rule) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.Add(rules...); err != nil {
		t.Fatal(err)
	}
	return p
}

// New starts a proxy to upstream (host:port or a URL); Close stops it.
func New(upstream string) (*Proxy, error) {
	if !strings.Contains(upstream, "://") {
		upstream = "http://" + upstream
	}
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("parsing upstream %q: %w", upstream, err)
	}
	p := &Proxy{upstream: &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // upstream's absolute URLs (upload Locations) point back at the proxy
		},
		ErrorLog: log.New(io.Discard, "", 0), // an upstream error is answered 502 and recorded
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	p.Host = strings.TrimPrefix(p.srv.URL, "http://")
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// Add appends rules after those already given.
func (p *Proxy) Add(rules ...Rule) error {
	compiled := make([]*rule, 0, len(rules))
	for _, r := range rules {
		c, err := r.compile()
		if err != nil {
			return err
		}
		compiled = append(compiled, c)
	}
	p.mu.Lock()
	p.rules = append(p.rules, compiled...)
	p.mu.Unlock()
	return nil
}

// Clear drops every rule: from now on requests pass untouched.
func (p *Proxy) Clear() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// Requests returns every request so far, in the order they arrived.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Matching returns the requests so far with this method ("" for any) whose
// path matches the regular expression.
func (p *Proxy) Matching(method, path string) []Request {
	re := regexp.MustCompile(path)
	var out []Request
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && re.MatchString(r.Path) {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests so far; rules and their counts stay.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.requests = nil
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f := p.take(r)
	rec := Request{Method: r.Method, Path: r.URL.Path}
	if f != nil {
		rec.Fault = f.name
	}
	// Recorded on arrival, the status as it is sent: the record is complete
	// by the time the client sees an answer or a broken connection.
	p.mu.Lock()
	p.requests = append(p.requests, rec)
	sw := &statusWriter{ResponseWriter: w, p: p, i: len(p.requests) - 1}
	p.mu.Unlock()
	if f == nil {
		p.upstream.ServeHTTP(sw, r)
		return
	}
	f.apply(sw, r, p.upstream)
}

// take returns the fault of the first rule that matches r and has uses
// left, counting the use, or nil.
func (p *Proxy) take(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rl := range p.rules {
		if rl.matches(r) && (rl.Times == 0 || rl.used < rl.Times) {
			rl.used++
			return &rl.Fault
		}
	}
	return nil
}

// statusWriter records the status sent and lets faults hijack the
// connection underneath.
type statusWriter struct {
	http.ResponseWriter
	p    *Proxy
	i    int // index in p.requests
	sent bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.sent && code >= 200 {
		s.sent = true
		s.p.mu.Lock()
		s.p.requests[s.i].Status = code
		s.p.mu.Unlock()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.sent {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
