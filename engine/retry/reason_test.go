package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
)

// apiError is an AWS SDK error as Reason sees it: an HTTP status and an
// API error code.
type apiError struct {
	status int
	code   string
}

func (e apiError) Error() string       { return fmt.Sprintf("api error %s (HTTP %d)", e.code, e.status) }
func (e apiError) HTTPStatusCode() int { return e.status }
func (e apiError) ErrorCode() string   { return e.code }
func statusErr(code int) *StatusError {
	return &StatusError{Response: &http.Response{StatusCode: code, Status: fmt.Sprint(code, " ", http.StatusText(code))}}
}

func TestReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		// by type
		{statusErr(503), "HTTP 503 Service Unavailable"},
		{statusErr(500), "HTTP 500 Internal Server Error"},
		{statusErr(429), "HTTP 429 Too Many Requests"},
		{fmt.Errorf("x: %w", statusErr(502)), "HTTP 502 Bad Gateway"},
		{apiError{503, "ServiceUnavailable"}, "HTTP 503 Service Unavailable"},
		{apiError{400, "ThrottlingException"}, "the API is throttling requests"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "connection reset"},
		{io.ErrUnexpectedEOF, "connection closed early (EOF)"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		// the daemon's messages, by text, as seen through a fault proxy
		{errors.New("received unexpected HTTP status: 503 Service Unavailable"), "the registry answered a server error (5xx)"},
		{errors.New("Error response from daemon: received unexpected HTTP status: 502 Bad Gateway"), "the registry answered a server error (5xx)"},
		{errors.New("received unexpected HTTP status: 500 Internal Server Error"), "the registry answered a server error (5xx)"},
		{errors.New("toomanyrequests: You have reached your pull rate limit"), "the registry is rate-limiting (429)"},
		{errors.New("unavailable: fault injected: 429 Too Many Requests"), "the registry is rate-limiting (429)"},
		{errors.New(`Put "http://127.0.0.1:1/v2/x/manifests/t": read tcp 127.0.0.1:2->127.0.0.1:1: read: connection reset by peer`), "connection reset"},
		{errors.New("Error response from daemon: unexpected EOF"), "connection closed early (EOF)"},
		{errors.New(`Get "https://r/v2/": net/http: TLS handshake timeout`), "timeout"},
		{errors.New(`Get "https://r/v2/": dial tcp 10.0.0.1:443: i/o timeout`), "timeout"},
		// never retried
		{nil, ""},
		{statusErr(401), ""},
		{apiError{403, "AccessDeniedException"}, ""},
		{apiError{400, "RepositoryNotFoundException"}, ""},
		{fmt.Errorf("x: %w", context.Canceled), ""},
		{Permanent(statusErr(503)), ""},
		{syscall.ECONNREFUSED, ""},
		{errors.New("x509: certificate signed by unknown authority"), ""},
		{errors.New("unavailable: fault injected: 401 Unauthorized"), ""},
		{errors.New("unauthorized: authentication required"), ""},
		{errors.New("denied: requested access to the resource is denied"), ""},
		{errors.New("manifest unknown: manifest unknown"), ""},
		{errors.New("Error response from daemon: manifest for r/x:t not found: manifest unknown"), ""},
		{errors.New("Error response from daemon: No such image: r/x:t"), ""},
		{errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"), ""},
		{errors.New("layer 5034 of 6 is broken"), ""},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	e := statusErr(429)
	e.Response.Header = http.Header{"Retry-After": {"3"}}
	if got := retryAfter(e); got.Seconds() != 3 {
		t.Errorf("retryAfter = %s, want 3s", got)
	}
	e.Response.Header.Set("Retry-After", "99999999999999999")
	if got := retryAfter(e); got <= 0 {
		t.Errorf("retryAfter of a huge value = %s, want a long wait, not an overflow", got)
	}
	if got := retryAfter(statusErr(503)); got != 0 {
		t.Errorf("retryAfter of a 503 = %s, want 0", got)
	}
}
