package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// grace is how long a run has to stop after the first signal, before the
// process exits all the same: a CI sends SIGKILL not long after SIGTERM,
// and a phase that does not heed its context (a stuck credential helper)
// must not hold the job.
const grace = 4 * time.Second

// stopOnSignals cancels the run at the first SIGINT or SIGTERM, which
// every phase heeds through its context. At a second signal, or when the
// run has not stopped within grace, it exits at once with 128 plus the
// signal's number: 130 for SIGINT, 143 for SIGTERM. Its messages name
// the phase stopped, as stopping says it ("while building").
func stopOnSignals(cancel func(), stderr io.Writer, exit func(int), stopping func() string) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	first := <-sigs
	what := stopping()
	if what != "" {
		what = " " + what
	}
	cancel()
	fmt.Fprintf(stderr, "docker-ecr-cache: %v: stopping%s (a second signal stops at once)\n", first, what)
	code := 128 + int(first.(syscall.Signal))
	select {
	case sig := <-sigs:
		fmt.Fprintf(stderr, "docker-ecr-cache: %v again: exiting now, stopped%s\n", sig, what)
		code = 128 + int(sig.(syscall.Signal))
	case <-time.After(grace):
		fmt.Fprintf(stderr, "docker-ecr-cache: the run did not stop within %v of %v: exiting now, stopped%s\n", grace, first, what)
	}
	exit(code)
}
