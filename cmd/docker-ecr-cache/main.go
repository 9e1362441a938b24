// Command docker-ecr-cache keeps a CI job's build-time image in a registry
// under a tag computed from everything that goes into it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], system())
	stop()
	os.Exit(code)
}
