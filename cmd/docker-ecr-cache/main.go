// Command docker-ecr-cache keeps a CI job's build-time image in a registry
// under a tag computed from everything that goes into it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], frontend.System())
	stop()
	os.Exit(code)
}
