// Command keytime computes the cache key of a checkout with engine.ComputeKey
// and prints it: the stand-in for a `key` subcommand in bench/key.sh.
//
//	keytime [-dockerfile Dockerfile] [-cache-on GLOB]... [-n N] [-v] DIR
//
// Without -cache-on it uses the benchmark's list (**/package.json, yarn.lock).
// -n computes the key N times in the process (to profile or average); -v
// also prints the number of inputs and the time taken to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/bench/monorepo"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var cacheOn list
	dockerfile := flag.String("dockerfile", "Dockerfile", "Dockerfile, relative to DIR")
	platform := flag.String("platform", "linux/amd64", "platform (fixed so that keys compare across machines)")
	n := flag.Int("n", 1, "compute the key `N` times")
	verbose := flag.Bool("v", false, "print the input count and time to stderr")
	flag.Var(&cacheOn, "cache-on", "cache-on `glob` (repeatable; default: the benchmark's)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keytime [flags] DIR")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if len(cacheOn) == 0 {
		cacheOn = monorepo.CacheOn
	}
	c := engine.NewConfig()
	c.WorkDir = flag.Arg(0)
	c.Dockerfile = *dockerfile
	c.Platform = *platform
	c.CacheOn = cacheOn
	c.Getenv = os.Getenv

	var k key.Key
	start := time.Now()
	for i := 0; i < *n; i++ {
		var err error
		if k, err = engine.ComputeKey(context.Background(), &c); err != nil {
			fmt.Fprintln(os.Stderr, "keytime:", err)
			os.Exit(1)
		}
	}
	if *verbose {
		fmt.Fprintf(os.Stderr, "%d inputs, %v per key\n", len(k.Inputs), time.Since(start)/time.Duration(*n))
	}
	fmt.Println(k.Tag)
}
