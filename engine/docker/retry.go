package docker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// retry runs op until it succeeds, fails for good, or c.Retry is spent.
// The daemon does not retry a registry's 5xx or 429 itself, and its stream
// gives only the error's text, so transient reads that text. The deadline
// counts from the first failure: a push can run long before it fails.
func (c *Client) retry(ctx context.Context, what string, op func() error) error {
	var first time.Time
	for n := 1; ; n++ {
		err := op()
		if err == nil {
			return nil
		}
		reason := transient(err)
		if reason == "" || ctx.Err() != nil {
			return err
		}
		if first.IsZero() {
			first = time.Now()
		}
		wait := c.Retry.Delay(n, 0)
		if n >= c.Retry.Attempts || time.Since(first)+wait > c.Retry.Deadline {
			return fmt.Errorf("%w (%s: gave up after %d tries)", err, reason, n)
		}
		if c.Log != nil {
			c.Log("%s: %s (%v); retrying in %s (try %d of %d)", what, reason, err, wait.Round(time.Millisecond), n+1, c.Retry.Attempts)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err)
		}
	}
}

var (
	// permanent: a refused credential or a missing image is never retried,
	// whatever else the message says.
	permanent = regexp.MustCompile(`(?i)unauthorized|authentication required|denied|forbidden|not found|manifest unknown|name unknown|blob unknown|no such|\b40[134]\b`)
	tooMany   = regexp.MustCompile(`(?i)\b429\b|toomanyrequests|too many requests`)
	server    = regexp.MustCompile(`(?i)(status|http|code)[: ]*5\d\d\b|\b5\d\d (internal server error|not implemented|bad gateway|service unavailable|gateway timeout)|internal server error|bad gateway|service unavailable|gateway timeout|^unavailable:|: unavailable:`)
	reset     = regexp.MustCompile(`(?i)connection reset|broken pipe|connection closed|forcibly closed`)
	eof       = regexp.MustCompile(`(?i)\bunexpected eof\b|\beof$|: eof\b`)
	timeout   = regexp.MustCompile(`(?i)i/o timeout|timeout exceeded|tls handshake timeout|timeout awaiting|deadline exceeded`)
)

// transient says why a failed pull or push is worth another try, from
// the daemon's message, or "" when it is not: a stall, a cancellation, a
// refusal or a missing image never are.
func transient(err error) string {
	var stall *StallError
	if err == nil || errors.As(err, &stall) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ""
	}
	msg := err.Error()
	switch {
	case permanent.MatchString(msg):
		return ""
	case tooMany.MatchString(msg):
		return "the registry is rate-limiting (429)"
	case server.MatchString(msg):
		return "the registry answered a server error (5xx)"
	case reset.MatchString(msg):
		return "connection reset"
	case eof.MatchString(strings.TrimSpace(msg)):
		return "connection closed early (EOF)"
	case timeout.MatchString(msg):
		return "timeout"
	}
	return ""
}
