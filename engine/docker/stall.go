package docker

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// StallError is a pull, push or build whose stream showed no progress for
// Limit: the call was stopped. Callers name Ref in their own context.
type StallError struct {
	Phase string // "pull", "push" or "build"
	Ref   string
	Limit time.Duration
}

func (e *StallError) Error() string {
	option := "stall-timeout-pull-push"
	if e.Phase == "build" {
		option = "stall-timeout-build"
	}
	return fmt.Sprintf("no progress for %s, so the %s was stopped (raise %s if it needs longer)", e.Limit, e.Phase, option)
}

// watchdog cancels a call's context when its stream shows no progress for
// limit. Every read that returns data counts as progress.
type watchdog struct {
	limit  time.Duration
	timer  *time.Timer
	fired  atomic.Bool
	cancel context.CancelFunc
	phase  string
	ref    string
}

// watch returns the context to make the call with and its watchdog, which
// is already counting: a call that does not answer at all stalls too.
// limit 0 watches nothing. stop must be called when the call is done.
func watch(ctx context.Context, limit time.Duration, phase, ref string) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watchdog{limit: limit, cancel: cancel, phase: phase, ref: ref}
	if limit > 0 {
		w.timer = time.AfterFunc(limit, func() {
			w.fired.Store(true)
			cancel()
		})
	}
	return ctx, w
}

// reader is r, with every read that returns data resetting the watchdog.
func (w *watchdog) reader(r io.Reader) io.Reader {
	if w.timer == nil {
		return r
	}
	return progressReader{r, w}
}

type progressReader struct {
	r io.Reader
	w *watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.timer.Reset(p.w.limit)
	}
	return n, err
}

// end ends the watch and its context.
func (w *watchdog) end() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel()
}

// stop ends the watch. A call the watchdog stopped returns a StallError in
// place of err.
func (w *watchdog) stop(err error) error {
	w.end()
	if err != nil && w.fired.Load() {
		return retry.Permanent(&StallError{Phase: w.phase, Ref: w.ref, Limit: w.limit}) // not retried
	}
	return err
}
