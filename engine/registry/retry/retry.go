// Package retry is the one retry policy of the registry providers, for
// registry requests, token requests and the ECR and Google API calls:
// exponential backoff with jitter, Retry-After honoured on 429, a bounded
// number of tries and an overall deadline, and every retry logged with its
// reason. What is retried: 5xx, 429, connection resets, timeouts, and a
// connection closed early (EOF), also in the middle of a body.
package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Policy bounds the retries of one operation.
type Policy struct {
	Attempts int           // tries in all, the first included
	Base     time.Duration // wait before the second try, doubled after each
	Max      time.Duration // longest wait, Retry-After included
	Deadline time.Duration // no retry would start later than this after the first try
}

// Default is the policy of every provider: five tries within two minutes,
// waiting about 0.5, 1, 2 and 4 seconds.
var Default = Policy{Attempts: 5, Base: 500 * time.Millisecond, Max: 20 * time.Second, Deadline: 2 * time.Minute}

// Logf reports a retry; providers pass their reporter's Warnf.
type Logf func(format string, args ...any)

// Delay is the wait after the failed try n (1 for the first): Base·2^(n-1),
// less up to a quarter at random, or retryAfter when the server asked for
// longer; never more than Max.
func (p Policy) Delay(n int, retryAfter time.Duration) time.Duration {
	d := p.Base << min(n-1, 30)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	d -= time.Duration(rand.Int64N(int64(d)/4 + 1))
	if retryAfter > d {
		d = min(retryAfter, p.Max)
	}
	return d
}

// Reason says why a failed request is worth another try, or "" when it is
// not: a refused credential, a 404 or a cancelled request never are.
func Reason(resp *http.Response, err error) string {
	if err == nil {
		switch {
		case resp == nil:
			return ""
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return "HTTP " + resp.Status
		}
		return ""
	}
	// The transport stops on its own when the caller's context ends, so a
	// deadline seen here is the connection's own: a timeout.
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early (EOF)"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return ""
}

// RetryAfter reads a 429's Retry-After header: seconds or an HTTP date.
func RetryAfter(resp *http.Response) time.Duration {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// Transport retries the requests it sends through inner by p, logging
// each retry with log. It reads response bodies of up to maxBody bytes in
// full, so that a body cut in the middle is retried too; a larger body is
// handed on as it streams. A request whose body cannot be replayed is sent
// once.
func (p Policy) Transport(inner http.RoundTripper, log Logf) http.RoundTripper {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &transport{p: p, inner: inner, log: log}
}

// maxBody is the largest response read in full before it is handed on:
// manifests, configs, tokens and API answers are far smaller.
const maxBody = 8 << 20

type transport struct {
	p     Policy
	inner http.RoundTripper
	log   Logf
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	start := time.Now()
	for n := 1; ; n++ {
		try := req
		if n > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			try = req.Clone(ctx)
			try.Body = body
		}
		resp, err := t.inner.RoundTrip(try)
		if err == nil {
			err = buffer(resp)
		}
		reason := Reason(resp, err)
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if reason == "" || !replayable || ctx.Err() != nil {
			if err != nil {
				return nil, err
			}
			return resp, nil
		}
		wait := t.p.Delay(n, RetryAfter(resp))
		if n >= t.p.Attempts || time.Since(start)+wait > t.p.Deadline {
			if err == nil {
				return resp, nil // the caller reads the registry's error
			}
			return nil, fmt.Errorf("%s %s: %s after %d tries in %s: %w", req.Method, req.URL.Redacted(), reason, n, time.Since(start).Round(time.Millisecond), err)
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if t.log != nil {
			t.log("%s %s: %s; retrying in %s (try %d of %d)", req.Method, req.URL.Redacted(), reason, wait.Round(time.Millisecond), n+1, t.p.Attempts)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
	}
}

// bodyTimeout bounds reading a buffered body, so that a stalled one is a
// timeout, retried like any other.
const bodyTimeout = time.Minute

// buffer reads a small body in full, so that a cut one is an error here.
func buffer(resp *http.Response) error {
	if resp.Body == nil || resp.ContentLength > maxBody {
		return nil
	}
	var stalled atomic.Bool
	timer := time.AfterFunc(bodyTimeout, func() {
		stalled.Store(true)
		resp.Body.Close()
	})
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	timer.Stop()
	if stalled.Load() {
		err = fmt.Errorf("no answer for %s: %w", bodyTimeout, os.ErrDeadlineExceeded)
	}
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("reading the response: %w", err)
	}
	rest := resp.Body
	if len(b) <= maxBody {
		rest.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), rest), rest}
	return nil
}
