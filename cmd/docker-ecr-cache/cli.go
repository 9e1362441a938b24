package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run failed: daemon, registry, build or push
	exitConfig  = 2 // the configuration is wrong: the fix is the user's
)

// process is what the command sees of the world, injected for tests.
type process struct {
	Environ []string
	Getenv  func(string) string
	Stdout  io.Writer
	Stderr  io.Writer
}

func system() process {
	return process{Environ: os.Environ(), Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
}

// A frontEnd is one CI's adapter: it reads the configuration in that CI's
// way and writes the result back in that CI's way.
type frontEnd interface {
	Load() (engine.Config, error)
	Reporter() *report.Reporter
	Emit(engine.Result) error
}

// commands maps each subcommand to its entry point.
var commands = map[string]func(ctx context.Context, args []string, p process) error{
	"run":       runGeneric,
	"key":       runKey,
	"buildkite": runBuildkite,
	"github":    runGitHub,
	"version": func(_ context.Context, _ []string, p process) error {
		_, err := fmt.Fprintln(p.Stdout, version)
		return err
	},
}

// version is set at link time for releases.
var version = "dev"

func realMain(ctx context.Context, args []string, p process) int {
	name := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if name == "help" || len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		usage(p.Stdout)
		return exitOK
	}
	if !ok {
		fmt.Fprintf(p.Stderr, "docker-ecr-cache: unknown command %q: use one of %s\n", name, strings.Join(commandNames(), ", "))
		return exitConfig
	}
	err := cmd(ctx, args, p)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		if errors.Is(err, errConfig) {
			return exitConfig
		}
		return exitFailure
	case engine.IsConfigError(err):
		fmt.Fprintf(p.Stderr, "docker-ecr-cache: %v\n", err)
		return exitConfig
	default:
		fmt.Fprintf(p.Stderr, "docker-ecr-cache: %v\n", err)
		return exitFailure
	}
}

// errReported marks an error that a front end already printed its own way.
var (
	errReported = errors.New("reported")
	errConfig   = errors.New("configuration")
)

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `docker-ecr-cache: build-time images cached in a registry under a content key.

Usage:
  docker-ecr-cache [run] [--OPTION VALUE]... [--output dotenv|json] [--output-file FILE]
  docker-ecr-cache key [--OPTION VALUE]...     print the key and its inputs; needs no daemon
  docker-ecr-cache buildkite --export-file F   the Buildkite plugin's hook
  docker-ecr-cache github                      the GitHub Action's entry point
  docker-ecr-cache version

Options (also as %sOPTION environment variables, upper-cased with _ for -):
`, env.Prefix)
	for _, o := range engine.Options {
		fmt.Fprintf(w, "  --%-24s %s\n", o.Name, o.Usage)
	}
}
