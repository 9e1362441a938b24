package docker

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

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
