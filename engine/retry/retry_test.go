package retry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

var fast = Policy{Attempts: 3, Base: time.Millisecond, Max: 50 * time.Millisecond, Deadline: 10 * time.Second}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func TestDelayGrowsWithJitter(t *testing.T) {
	t.Parallel()
	p := Policy{Attempts: 5, Base: 100 * time.Millisecond, Max: 3 * time.Second, Deadline: time.Minute}
	for n, base := range []time.Duration{100, 200, 400, 800} {
		base *= time.Millisecond
		if d := p.Delay(n + 1); d > base || d < base*3/4 {
			t.Errorf("Delay(%d) = %s, want between %s and %s", n+1, d, base*3/4, base)
		}
	}
	if d := p.Delay(30); d > p.Max {
		t.Errorf("Delay(30) = %s, more than Max", d)
	}
}

// TestDo runs the loop on scripted failures.
func TestDo(t *testing.T) {
	t.Parallel()
	errServer := errors.New("received unexpected HTTP status: 503 Service Unavailable")
	errDenied := errors.New("denied: requested access to the resource is denied")
	tests := []struct {
		name  string
		fails []error // the tries' errors, in order; nil after the list
		calls int
		logs  int
		want  string // in the error; "" for success
	}{
		{"transient twice, then done", []error{errServer, errServer}, 3, 2, ""},
		{"refused: not retried", []error{errDenied}, 1, 0, "denied"},
		{"lasting: gives up", []error{errServer, errServer, errServer, errServer}, 3, 2, "503 Service Unavailable (the registry answered a server error (5xx): gave up after 3 tries in "},
		{"marked permanent", []error{Permanent(errServer)}, 1, 0, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &logLines{}
			calls := 0
			err := Do(t.Context(), fast, log.logf, "pushing r:t", func() error {
				calls++
				if calls <= len(tt.fails) {
					return tt.fails[calls-1]
				}
				return nil
			})
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if calls != tt.calls || len(log.lines) != tt.logs {
				t.Errorf("%d calls, %d retries logged (%q); want %d, %d", calls, len(log.lines), log.lines, tt.calls, tt.logs)
			}
			for i, l := range log.lines {
				want := "pushing r:t: the registry answered a server error (5xx) (received unexpected HTTP status: 503 Service Unavailable); retrying in "
				if !strings.HasPrefix(l, want) || !strings.HasSuffix(l, fmt.Sprintf("(try %d of 3)", i+2)) {
					t.Errorf("retry logged as %q", l)
				}
			}
		})
	}
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		p := Policy{Attempts: 5, Base: time.Minute, Max: time.Minute, Deadline: time.Hour}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := Do(ctx, p, nil, "pulling r:t", func() error { return errServer })
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "503") || time.Since(start) > time.Second {
			t.Errorf("error %v after %s", err, time.Since(start))
		}
	})
}

// TestDeadlineCountsFromTheFirstFailure: a long first try does not eat
// the budget (a push can run long before it fails); the waits after it do.
func TestDeadlineCountsFromTheFirstFailure(t *testing.T) {
	t.Parallel()
	p := Policy{Attempts: 100, Base: 20 * time.Millisecond, Max: 20 * time.Millisecond, Deadline: 200 * time.Millisecond}
	calls := 0
	start := time.Now()
	err := Do(t.Context(), p, nil, "pushing r:t", func() error {
		calls++
		if calls == 1 {
			time.Sleep(300 * time.Millisecond) // longer than the deadline
		}
		return errors.New("received unexpected HTTP status: 503 Service Unavailable")
	})
	if err == nil || calls < 3 || calls > 20 || time.Since(start) > 3*time.Second {
		t.Errorf("%d calls in %s, error %v; want retries for the deadline after the first failure", calls, time.Since(start), err)
	}
}

// TestPhaseSharesOneBudget: the operations of one step count their tries
// together; another step has its own.
func TestPhaseSharesOneBudget(t *testing.T) {
	t.Parallel()
	calls := 0
	fail := func() error { calls++; return statusErr(503) }
	ctx := Phase(t.Context(), fast)
	if Phase(ctx, Default) != ctx {
		t.Errorf("a nested Phase started a second budget")
	}
	_ = Do(ctx, fast, nil, "HEAD", fail)
	err := Do(ctx, fast, nil, "GET", fail)
	if calls != fast.Attempts+1 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d tries", fast.Attempts+1)) {
		t.Errorf("%d calls in one step, error %v; want %d: the second operation tried once", calls, err, fast.Attempts+1)
	}
	calls = 0
	_ = Do(Phase(t.Context(), fast), fast, nil, "HEAD", fail)
	if calls != fast.Attempts {
		t.Errorf("%d calls in a new step, want %d", calls, fast.Attempts)
	}
}

// TestRetryAfterBeyondTheBudgetFailsAtOnce: a server asking for a longer
// wait than the policy allows gets no further try, and the error says why.
func TestRetryAfterBeyondTheBudgetFailsAtOnce(t *testing.T) {
	t.Parallel()
	for _, after := range []string{"999999", "5", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		calls := 0
		start := time.Now()
		err := Do(t.Context(), Policy{Attempts: 5, Base: time.Millisecond, Max: 2 * time.Second, Deadline: time.Minute}, nil, "HEAD", func() error {
			calls++
			e := statusErr(429)
			e.Response.Header = http.Header{"Retry-After": {after}}
			return e
		})
		var tl *TooLongError
		if !errors.As(err, &tl) || calls != 1 || time.Since(start) > time.Second || !strings.Contains(err.Error(), "Retry-After") {
			t.Errorf("Retry-After %s: %d calls in %s, error %v; want one, and a clear error", after, calls, time.Since(start), err)
		}
	}
	calls := 0
	err := Do(t.Context(), Policy{Attempts: 5, Base: time.Millisecond, Max: 2 * time.Second, Deadline: time.Minute}, nil, "HEAD", func() error {
		calls++
		e := statusErr(429)
		e.Response.Header = http.Header{"Retry-After": {"1"}}
		if calls < 2 {
			return e
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("Retry-After 1 within the budget: %d calls, %v", calls, err)
	}
}
