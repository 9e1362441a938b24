package retry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestDelayGrowsWithJitterAndHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	p := Policy{Attempts: 5, Base: 100 * time.Millisecond, Max: 3 * time.Second, Deadline: time.Minute}
	for n, base := range []time.Duration{100, 200, 400, 800} {
		base *= time.Millisecond
		d := p.Delay(n+1, 0)
		if d > base || d < base*3/4 {
			t.Errorf("Delay(%d) = %s, want between %s and %s", n+1, d, base*3/4, base)
		}
	}
	if d := p.Delay(30, 0); d > p.Max {
		t.Errorf("Delay(30) = %s, more than Max", d)
	}
	if d := p.Delay(1, 2*time.Second); d != 2*time.Second {
		t.Errorf("Delay with Retry-After 2s = %s", d)
	}
	if d := p.Delay(1, time.Hour); d != p.Max {
		t.Errorf("Delay with Retry-After 1h = %s, want Max", d)
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Status: fmt.Sprint(code)} }
	cases := []struct {
		resp  *http.Response
		err   error
		retry bool
	}{
		{resp(503), nil, true},
		{resp(500), nil, true},
		{resp(429), nil, true},
		{resp(401), nil, false},
		{resp(403), nil, false},
		{resp(404), nil, false},
		{nil, fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{nil, io.ErrUnexpectedEOF, true},
		{nil, syscall.ECONNREFUSED, false},
		{nil, errors.New("x509: certificate signed by unknown authority"), false},
	}
	for _, tc := range cases {
		if got := Reason(tc.resp, tc.err) != ""; got != tc.retry {
			t.Errorf("Reason(%v, %v) retries: %v, want %v", tc.resp, tc.err, got, tc.retry)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	r := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3"}}}
	if got := RetryAfter(r); got != 3*time.Second {
		t.Errorf("RetryAfter = %s, want 3s", got)
	}
	r.StatusCode = 503
	if got := RetryAfter(r); got != 0 {
		t.Errorf("RetryAfter of a 503 = %s, want 0", got)
	}
}

// TestTransportStopsAtTheDeadline: a server asking to wait longer than the
// deadline allows gets no further try.
func TestTransportStopsAtTheDeadline(t *testing.T) {
	t.Parallel()
	calls := 0
	inner := roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 429, Status: "429 Too Many Requests", Header: http.Header{"Retry-After": {"5"}}, Body: http.NoBody}, nil
	})
	p := Policy{Attempts: 5, Base: time.Millisecond, Max: time.Minute, Deadline: 2 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v2/", nil)
	start := time.Now()
	resp, err := p.Transport(inner, nil).RoundTrip(req)
	if err != nil || resp.StatusCode != 429 || calls != 1 || time.Since(start) > time.Second {
		t.Errorf("%v, %v after %d calls in %s; want the 429 at once", resp, err, calls, time.Since(start))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
