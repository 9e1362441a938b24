package retry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Transport retries the requests it sends through inner with Do, by p or
// the budget of the request's context (see Phase), logging each retry with
// log. It reads response bodies of up to maxBody bytes in full, so that a
// body cut in the middle is retried too; a larger body is handed on as it
// streams. A request whose body cannot be replayed is sent once. When the
// budget is spent on a 5xx or 429, that answer is handed on, for the
// caller to read the registry's error; a Retry-After longer than the
// budget allows is an error at once (TooLongError).
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
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var last *http.Response
	err := Do(req.Context(), t.p, t.log, req.Method+" "+req.URL.Redacted(), func() error {
		try := req
		if last != nil {
			discard(last)
			last = nil
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return Permanent(err)
			}
			try = req.Clone(req.Context())
			try.Body = body
		}
		resp, err := t.inner.RoundTrip(try)
		if err == nil {
			err = buffer(resp)
		}
		switch {
		case err != nil && !replayable:
			return Permanent(err)
		case err != nil:
			return err
		case replayable && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500):
			last = resp
			return &StatusError{Response: resp}
		}
		last = resp
		return nil
	})
	var se *StatusError
	var tooLong *TooLongError
	switch {
	case err == nil:
		return last, nil
	case errors.As(err, &tooLong):
		discard(last)
		return nil, err
	case errors.As(err, &se) && se.Response == last:
		return last, nil // the caller reads the registry's error
	}
	discard(last)
	return nil, err
}

// discard drains and closes a response that is not handed on.
func discard(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
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
