package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reason says why a failed operation is worth another try, or "" when it
// is not: a refused credential, a missing image, a cancellation or an
// error marked Permanent never are. What is retried: HTTP 5xx and 429,
// the throttling codes of the AWS APIs, connection resets, timeouts, and
// a connection closed early (EOF), also in the middle of a body.
//
// An error is read by its type where it has one (an HTTP status, an API
// error code, a network error), else by its text: the Docker daemon
// passes a registry's error on as text only, so its pulls and pushes are
// read conservatively, and a message naming a refusal or a missing image
// is never retried, whatever else it says.
func Reason(err error) string {
	if err == nil || errors.Is(err, context.Canceled) || isPermanent(err) {
		return ""
	}
	if throttled(err) {
		return "the API is throttling requests"
	}
	if code, ok := status(err); ok {
		if code == http.StatusTooManyRequests || code >= 500 {
			return "HTTP " + strconv.Itoa(code) + " " + http.StatusText(code)
		}
		return ""
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early (EOF)"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		// Do stops when its own context ends, so a deadline seen here is
		// the connection's or the request's own: a timeout.
		return "timeout"
	}
	return fromText(err.Error())
}

// status is the HTTP status an error carries: a StatusError's, or an AWS
// SDK response error's.
func status(err error) (int, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Response.StatusCode, true
	}
	var he interface{ HTTPStatusCode() int }
	if errors.As(err, &he) && he.HTTPStatusCode() != 0 {
		return he.HTTPStatusCode(), true
	}
	return 0, false
}

// throttling are the AWS API error codes that ask for a slower pace, as
// the SDK's own retryer lists them, and its transient ones.
var throttling = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "LimitExceededException": true, "RequestThrottled": true,
	"SlowDown": true, "PriorRequestNotComplete": true, "EC2ThrottledException": true,
	"RequestTimeout": true, "RequestTimeoutException": true,
}

// throttled reports whether err is an API error whose code is a throttling one.
func throttled(err error) bool {
	var ce interface{ ErrorCode() string }
	return errors.As(err, &ce) && throttling[ce.ErrorCode()]
}

// texts are the daemon's messages, compiled on first use: most runs never
// read one.
var texts = sync.OnceValue(func() (t struct{ permanent, tooMany, server, reset, eof, timeout *regexp.Regexp }) {
	t.permanent = regexp.MustCompile(`(?i)unauthorized|authentication required|denied|forbidden|not found|manifest unknown|name unknown|blob unknown|no such|\b40[134]\b`)
	t.tooMany = regexp.MustCompile(`(?i)\b429\b|toomanyrequests|too many requests`)
	t.server = regexp.MustCompile(`(?i)(status|http|code)[: ]*5\d\d\b|\b5\d\d (internal server error|not implemented|bad gateway|service unavailable|gateway timeout)|internal server error|bad gateway|service unavailable|gateway timeout|^unavailable:|: unavailable:`)
	t.reset = regexp.MustCompile(`(?i)connection reset|broken pipe|connection closed|forcibly closed`)
	t.eof = regexp.MustCompile(`(?i)\bunexpected eof\b|\beof$|: eof\b`)
	t.timeout = regexp.MustCompile(`(?i)i/o timeout|timeout exceeded|tls handshake timeout|timeout awaiting|deadline exceeded`)
	return t
})

// fromText reads a reason from an error's text alone.
func fromText(msg string) string {
	t := texts()
	switch {
	case t.permanent.MatchString(msg):
		return ""
	case t.tooMany.MatchString(msg):
		return "the registry is rate-limiting (429)"
	case t.server.MatchString(msg):
		return "the registry answered a server error (5xx)"
	case t.reset.MatchString(msg):
		return "connection reset"
	case t.eof.MatchString(strings.TrimSpace(msg)):
		return "connection closed early (EOF)"
	case t.timeout.MatchString(msg):
		return "timeout"
	}
	return ""
}

// StatusError is an HTTP answer worth another try (5xx, 429), as an error.
type StatusError struct{ Response *http.Response }

func (e *StatusError) Error() string { return "HTTP " + e.Response.Status }

// retryAfter is how long the server asked to wait: a 429's Retry-After,
// in seconds or as an HTTP date; 0 when it did not ask.
func retryAfter(err error) time.Duration {
	var se *StatusError
	if !errors.As(err, &se) || se.Response.StatusCode != http.StatusTooManyRequests {
		return 0
	}
	v := se.Response.Header.Get("Retry-After")
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
		return time.Duration(min(s, int64(1<<62/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
