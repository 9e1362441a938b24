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
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "bench-registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := testenv.NewRegistry(testenv.RegistryOptions{}, dir)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Println(r.Host)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
