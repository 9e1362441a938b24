package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/faultproxy"
)

const bodySize = 64 << 10

// upstream serves GET with bodySize bytes and counts the bytes of uploads
// it receives in full.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			n, _ := io.Copy(io.Discard, r.Body)
			received.Add(n)
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.Header().Set("Content-Length", "65536")
		_, _ = w.Write(bytes.Repeat([]byte("x"), bodySize))
	}))
	t.Cleanup(srv.Close)
	return srv, &received
}

// client opens a connection per request, so that Go's transport never
// retries a request on a reused connection behind the test's back.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return client.Do(req)
}

func strs(rs []faultproxy.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

func TestStatusForTheFirstNMatchingRequestsOnly(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Method: "GET", Path: `^/v2/.*/manifests/`, Times: 2, Fault: faultproxy.Status(503)})

	var got []int
	for _, path := range []string{"/v2/a/blobs/x", "/v2/a/manifests/t", "/v2/a/manifests/t", "/v2/a/manifests/t"} {
		resp, err := do(t, "GET", p.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{200, 503, 503, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	want := []string{
		"GET /v2/a/blobs/x 200",
		"GET /v2/a/manifests/t 503 injected",
		"GET /v2/a/manifests/t 503 injected",
		"GET /v2/a/manifests/t 200",
	}
	if diff := cmp.Diff(want, strs(p.Requests())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if n := len(p.Matching("GET", `/manifests/`)); n != 3 {
		t.Errorf("Matching(GET, /manifests/) = %d requests, want 3", n)
	}
}

func TestEveryMatchingRequestWhenTimesIsZero(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Method: "PUT", Fault: faultproxy.Status(500)})
	for range 3 {
		resp, err := do(t, "PUT", p.URL+"/v2/a/manifests/t", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("PUT = %d, want 500 every time", resp.StatusCode)
		}
	}
	resp, err := do(t, "GET", p.URL+"/v2/a/manifests/t", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET = %d, want 200: the rule is for PUT only", resp.StatusCode)
	}
}

func TestTooManyRequestsSaysRetryAfter(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Times: 1, Fault: faultproxy.TooManyRequests("7")})
	resp, err := do(t, "GET", p.URL+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("got %d Retry-After=%q, want 429 Retry-After=7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if diff := cmp.Diff([]string{"GET /v2/ 429 retry-after=7"}, strs(p.Requests())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestResetGivesConnectionReset(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Method: "HEAD", Times: 1, Fault: faultproxy.Reset()})
	_, err := do(t, "HEAD", p.URL+"/v2/a/manifests/t", nil)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("HEAD through a reset = %v, want ECONNRESET", err)
	}
	if diff := cmp.Diff([]string{"HEAD /v2/a/manifests/t 0 reset"}, strs(p.Requests())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestDelayHoldsTheResponse(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Times: 1, Fault: faultproxy.Delay(300 * time.Millisecond)})
	start := time.Now()
	resp, err := do(t, "GET", p.URL+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 300*time.Millisecond || resp.StatusCode != 200 {
		t.Errorf("got %d after %s, want 200 after at least 300ms", resp.StatusCode, d)
	}
}

func TestCutResponseEndsTheBodyEarly(t *testing.T) {
	t.Parallel()
	up, _ := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Method: "GET", Times: 1, Fault: faultproxy.CutResponse(1000)})
	resp, err := do(t, "GET", p.URL+"/v2/a/manifests/t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != 1000 {
		t.Errorf("read %d bytes, %v; want 1000 bytes then unexpected EOF", len(b), err)
	}
	if diff := cmp.Diff([]string{"GET /v2/a/manifests/t 200 cut response after 1000 bytes"}, strs(p.Requests())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestCutRequestBreaksAnUpload(t *testing.T) {
	t.Parallel()
	up, received := upstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Rule{Method: "PATCH", Path: `/blobs/uploads/`, Times: 1, Fault: faultproxy.CutRequest(4096)})
	body := bytes.Repeat([]byte("y"), 1<<20)
	if _, err := do(t, "PATCH", p.URL+"/v2/a/blobs/uploads/u1", bytes.NewReader(body)); err == nil {
		t.Fatal("PATCH through a cut request succeeded")
	}
	if n := received.Load(); n != 0 {
		t.Errorf("upstream received %d bytes of the cut upload, want none", n)
	}
	resp, err := do(t, "PATCH", p.URL+"/v2/a/blobs/uploads/u1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || received.Load() != 1<<20 {
		t.Errorf("second PATCH = %d with %d bytes upstream, want 201 with all %d", resp.StatusCode, received.Load(), 1<<20)
	}
	want := []string{"PATCH /v2/a/blobs/uploads/u1 0 cut request after 4096 bytes", "PATCH /v2/a/blobs/uploads/u1 201"}
	if diff := cmp.Diff(want, strs(p.Requests())); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestBadRules(t *testing.T) {
	t.Parallel()
	p, err := faultproxy.New("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Add(faultproxy.Rule{Path: "("}); err == nil {
		t.Error("a rule without a fault was accepted")
	}
	if err := p.Add(faultproxy.Rule{Path: "(", Fault: faultproxy.Reset()}); err == nil {
		t.Error("a rule with a bad path pattern was accepted")
	}
}
