// Command bkbuild builds one image on a BuildKit daemon through
// engine/buildkit, as a miss with buildkit-host does, and prints the time
// the build and push took, in seconds, on stdout. Progress goes to stderr.
//
//	bkbuild -host tcp://127.0.0.1:1234 -context DIR -tag REF [-cache-to REF]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildkit"
)

func main() {
	host := flag.String("host", os.Getenv("BUILDKIT_HOST"), "BuildKit address")
	dir := flag.String("context", ".", "build context, with its Dockerfile")
	tag := flag.String("tag", "", "image to push")
	cacheTo := flag.String("cache-to", "", "registry cache ref (mode=max), imported and exported; empty: no cache")
	flag.Parse()
	if err := run(*host, *dir, *tag, *cacheTo); err != nil {
		fmt.Fprintln(os.Stderr, "bkbuild:", err)
		os.Exit(1)
	}
}

func run(host, dir, tag, cacheTo string) error {
	ctx := context.Background()
	b, err := buildkit.New(ctx, engine.BuildKitHost{Addr: host}, os.Stderr)
	if err != nil {
		return err
	}
	defer b.Close()
	started := time.Now()
	res, err := b.Build(ctx, engine.BuildSpec{
		ContextDir: dir,
		Dockerfile: filepath.Join(dir, "Dockerfile"),
		Tags:       []string{tag},
		CacheTo:    cacheTo,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bkbuild: pushed %s@%s\n", tag, res.Digest)
	fmt.Printf("%.2f\n", time.Since(started).Seconds())
	return nil
}
