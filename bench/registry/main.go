// Command registry serves a distribution registry (in memory) on
// 127.0.0.1 until it is interrupted, for benchmarks. It prints its
// host:port on stdout.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

func main() {
	dir, err := os.MkdirTemp("", "bench-registry-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	r, err := testenv.NewRegistry(testenv.RegistryOptions{}, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer r.Close()
	fmt.Println(r.Host)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
