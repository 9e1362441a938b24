// Package retry is the one retry loop of every network operation: the
// registry's HTTP requests and token requests (Transport), the AWS and
// Google API calls, and the daemon's pulls and pushes. Each retry waits
// with exponential backoff and jitter, honours a 429's Retry-After, and is
// logged with its reason; Reason is the one place that says what is worth
// another try.
//
// A step of a run (a lookup, reading labels, a pull, a push) may make
// several requests: Phase gives them one budget of tries and one deadline,
// so that a registry that keeps failing costs the step at most Deadline,
// however many requests it makes.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Policy bounds the retries of one step.
type Policy struct {
	Attempts int           // tries in all, the first included, shared by the step's requests
	Base     time.Duration // wait before the second try, doubled after each
	Max      time.Duration // longest wait, Retry-After included
	Deadline time.Duration // no retry starts later than this after the step's first failure
}

// Default is the policy of every step: five tries within two minutes of
// the first failure, waiting about 0.5, 1, 2 and 4 seconds.
var Default = Policy{Attempts: 5, Base: 500 * time.Millisecond, Max: 20 * time.Second, Deadline: 2 * time.Minute}

// Logf reports a retry; callers pass their reporter's Warnf, or nil.
type Logf func(format string, args ...any)

// Delay is the wait after the failed try n (1 for the first): Base·2^(n-1),
// less up to a quarter at random, and never more than Max.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base << min(n-1, 30)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// budget is what is left of a step's policy: its tries and its deadline,
// which starts at the step's first failure (a push can run long before
// it fails).
type budget struct {
	p     Policy
	mu    sync.Mutex
	first time.Time // the step's first failure
	tries int       // failed tries so far
}

type budgetKey struct{}

// Phase returns ctx carrying one budget of p for every operation run with
// it (Do, Transport): their tries count together and their retries end
// together at p.Deadline after the first failure. A ctx that carries a
// budget already is returned as is, so that a step that calls another
// keeps one budget.
func Phase(ctx context.Context, p Policy) context.Context {
	if ctx.Value(budgetKey{}) != nil {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, &budget{p: p})
}

// Do runs op until it succeeds, fails for a reason not worth another try
// (Reason says ""), ctx ends, or the budget is spent: ctx's (see Phase),
// or else a budget of p for this call alone. Each retry is logged with
// what (the operation, such as "pushing host/repo:tag"), the reason and
// the error. On giving up, the error is op's last, with the reason and
// the number of tries.
func Do(ctx context.Context, p Policy, log Logf, what string, op func() error) error {
	b, _ := ctx.Value(budgetKey{}).(*budget)
	if b == nil {
		b = &budget{p: p}
	}
	for {
		err := op()
		if err == nil {
			return nil
		}
		reason := Reason(err)
		if reason == "" || ctx.Err() != nil {
			return err
		}
		wait, try, stop := b.next(err, reason)
		if stop != nil {
			return stop
		}
		if log != nil {
			detail := ""
			if msg := err.Error(); msg != reason {
				detail = " (" + msg + ")"
			}
			log("%s: %s%s; retrying in %s (try %d of %d)", what, reason, detail, wait.Round(time.Millisecond), try, b.p.Attempts)
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

// next counts a failed try and returns the wait before the next one and
// that try's number in the step, or the error to give up with.
func (b *budget) next(err error, reason string) (wait time.Duration, try int, stop error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.first.IsZero() {
		b.first = now
	}
	b.tries++
	if after := retryAfter(err); after > 0 {
		if after > b.p.Max || now.Sub(b.first)+after > b.p.Deadline {
			return 0, 0, &TooLongError{Err: err, After: after, Max: b.p.Max, Deadline: b.p.Deadline}
		}
		wait = after
	}
	wait = max(wait, b.p.Delay(b.tries))
	if b.tries >= b.p.Attempts || now.Sub(b.first)+wait > b.p.Deadline {
		return 0, 0, fmt.Errorf("%w (%s: gave up after %d tries in %s)", err, reason, b.tries, now.Sub(b.first).Round(time.Millisecond))
	}
	return wait, b.tries + 1, nil
}

// TooLongError is a server's Retry-After longer than the budget allows:
// rather than wait past the deadline, the step fails at once.
type TooLongError struct {
	Err           error
	After         time.Duration // what the server asked
	Max, Deadline time.Duration // the policy's bounds
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("%v: the server asks to wait %s before another try (Retry-After), more than the retry policy allows "+
		"(%s a wait, %s in all), so it was not retried", e.Err, e.After.Round(time.Second), e.Max, e.Deadline)
}

func (e *TooLongError) Unwrap() error { return e.Err }

// Permanent marks err as not worth another try, whatever it says.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
