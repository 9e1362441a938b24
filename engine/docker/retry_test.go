package docker

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRetryLoop runs the retry loop on scripted failures, without a daemon.
func TestRetryLoop(t *testing.T) {
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
		{"lasting: gives up", []error{errServer, errServer, errServer, errServer}, 3, 2, "503 Service Unavailable (the registry answered a server error (5xx): gave up after 3 tries)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &retryLog{}
			c := &Client{Retry: fastRetry, Log: log.logf}
			calls := 0
			err := c.retry(t.Context(), "pushing r:t", func() error {
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
				t.Errorf("%d calls, %d retries logged (%q); want %d, %d", calls, len(log.lines), log, tt.calls, tt.logs)
			}
			for _, l := range log.lines {
				if !strings.HasPrefix(l, "pushing r:t: the registry answered a server error (5xx) (received unexpected HTTP status: 503") || !strings.Contains(l, "; retrying in ") {
					t.Errorf("retry logged as %q", l)
				}
			}
		})
	}
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		c := &Client{Retry: fastRetry}
		c.Retry.Base, c.Retry.Max, c.Retry.Deadline = time.Minute, time.Minute, time.Hour
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.retry(ctx, "pulling r:t", func() error { return errServer })
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Errorf("error %v after %s", err, time.Since(start))
		}
	})
}

// TestWatchdog: reads that bring data keep the call alive; silence for
// the limit cancels its context and turns its error into a StallError.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	ctx, w := watch(t.Context(), 100*time.Millisecond, "pull", "r:t")
	pr, pw := io.Pipe()
	go func() {
		for range 10 { // 300 ms of progress, longer than the limit
			time.Sleep(30 * time.Millisecond)
			_, _ = pw.Write([]byte("{}\n"))
		}
		<-ctx.Done() // then silence, until the watchdog gives up
		pw.CloseWithError(ctx.Err())
	}()
	start := time.Now()
	_, err := io.Copy(io.Discard, w.reader(pr))
	took := time.Since(start)
	err = w.stop(err)
	var stall *StallError
	if !errors.As(err, &stall) || stall.Phase != "pull" || stall.Limit != 100*time.Millisecond {
		t.Fatalf("error %v, want a pull stall", err)
	}
	if took < 350*time.Millisecond || took > 2*time.Second {
		t.Errorf("stopped after %s, want the progress time plus the limit", took)
	}
	_, idle := watch(context.Background(), 0, "build", "r:t")
	if err := idle.stop(errors.New("boom")); err == nil || err.Error() != "boom" {
		t.Errorf("limit 0: stop = %v, want the call's own error", err)
	}
}
