package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/buildkite"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/gitlab"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the run failed: daemon, registry, build or push
	exitConfig  = 2 // the configuration is wrong: the fix is the user's
)

// commands maps each subcommand to its front end.
var commands = map[string]func(ctx context.Context, args []string, e frontend.Env) error{
	"run":       env.Run,
	"key":       env.Key,
	"prune":     env.Prune,
	"buildkite": buildkite.Run,
	"github":    github.Run,
	"gitlab":    gitlab.Run,
	"version": func(_ context.Context, _ []string, e frontend.Env) error {
		_, err := fmt.Fprintln(e.Stdout, version)
		return err
	},
}

// version is set at link time for releases.
var version = "dev"

// realMain runs the subcommand args name (run by default), prints its
// error unless its front end already did, and returns the exit code.
func realMain(ctx context.Context, args []string, e frontend.Env) int {
	name := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if name == "help" || len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		usage(e.Stdout)
		return exitOK
	}
	if !ok {
		fmt.Fprintf(e.Stderr, "docker-ecr-cache: unknown command %q: use one of %s\n", name, strings.Join(commandNames(), ", "))
		return exitConfig
	}
	err := cmd(ctx, args, e)
	if err == nil {
		return exitOK
	}
	var reported *frontend.Reported
	if !errors.As(err, &reported) {
		fmt.Fprintf(e.Stderr, "docker-ecr-cache: %v\n", err)
	}
	if engine.IsConfigError(err) {
		return exitConfig
	}
	return exitFailure
}

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
  docker-ecr-cache prune [--dry-run] [--OPTION VALUE]...
                                               delete the images of keys older than max-age-days
                                               but the newest keep-last and latest's
  docker-ecr-cache buildkite --export-file F   the Buildkite plugin's hook
  docker-ecr-cache github                      the GitHub Action's entry point
  docker-ecr-cache gitlab [--OPTION VALUE]...  the GitLab component's script: defaults from CI_REGISTRY*,
                                               sections, a dotenv report (--output-file, --output-prefix)
  docker-ecr-cache version

Options (also as %sOPTION environment variables, upper-cased with _ for -):
`, env.Prefix)
	for _, o := range engine.Options {
		fmt.Fprintf(w, "  --%-24s %s\n", o.Name, o.Usage)
	}
}
