// Command docker-ecr-cache keeps a CI job's build-time image in a registry
// under a tag computed from everything that goes into it.
package main

import (
	"context"
	"os"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	_ "github.com/docker-ecr-cache/docker-ecr-cache/internal/firstgc" // a short run collects no garbage
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	go stopOnSignals(cancel, os.Stderr, os.Exit, frontend.Stopping)
	code := realMain(ctx, os.Args[1:], frontend.System())
	cancel()
	os.Exit(code)
}
