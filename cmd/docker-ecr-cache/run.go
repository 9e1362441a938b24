package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/docker"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// errorPrinter is a front end that prints a failed run's error itself, for
// example as an annotation on the Dockerfile that failed to build.
type errorPrinter interface{ PrintError(err error) }

// runWith runs the engine for a front end: load, run, emit. Errors are
// printed here once, in the front end's style.
func runWith(ctx context.Context, fe frontEnd) error {
	log := fe.Reporter()
	res, err := runEngine(ctx, fe, log)
	if err != nil {
		if p, ok := fe.(errorPrinter); ok {
			p.PrintError(err)
		} else {
			log.Errorf("%v", err)
		}
		if engine.IsConfigError(err) {
			return errors.Join(errReported, errConfig)
		}
		return errReported
	}
	log.EndGroup()
	log.Infof("%s", engine.Summary(res))
	if err := fe.Emit(res); err != nil {
		log.Errorf("writing outputs: %v", err)
		return errReported
	}
	return nil
}

func runEngine(ctx context.Context, fe frontEnd, log *report.Reporter) (engine.Result, error) {
	cfg, err := fe.Load()
	if err != nil {
		// Report every problem at once: also those Validate finds in the rest.
		if verr := cfg.Validate(); verr != nil && engine.IsConfigError(err) {
			err = &engine.ConfigError{Err: errors.Join(err, verr)}
		}
		return engine.Result{}, err
	}
	if err := cfg.Validate(); err != nil {
		return engine.Result{}, err
	}
	d, err := docker.New(ctx, log.Progress())
	if err != nil {
		return engine.Result{}, err
	}
	reg, err := registry.New(ctx, &cfg, log)
	if err != nil {
		return engine.Result{}, err
	}
	e := engine.Engine{Config: cfg, Registry: reg, Docker: d, Reporter: log}
	return e.Run(ctx)
}

// generic is the front end for plain shells and other CIs.
type generic struct {
	args []string
	p    process
	log  *report.Reporter
	out  env.Settings
}

func (g *generic) Reporter() *report.Reporter { return g.log }

func (g *generic) Load() (engine.Config, error) {
	cfg, settings, err := env.Load(g.args, g.p.Environ, g.p.Getenv)
	g.out = settings
	return cfg, err
}

func (g *generic) Emit(r engine.Result) error {
	if g.out.OutputFile == "" {
		return env.Write(g.p.Stdout, g.out.Output, r)
	}
	f, err := os.OpenFile(g.out.OutputFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := env.Write(f, g.out.Output, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runGeneric(ctx context.Context, args []string, p process) error {
	return runWith(ctx, &generic{args: args, p: p, log: report.New(p.Stderr, report.Plain)})
}

// runKey prints the key, then a line per input with its digest.
func runKey(ctx context.Context, args []string, p process) error {
	cfg, settings, err := env.Load(args, p.Environ, p.Getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	key, err := engine.ComputeKey(ctx, &cfg)
	if err != nil {
		return err
	}
	if settings.Output == "json" {
		return writeJSON(p.Stdout, key)
	}
	fmt.Fprintln(p.Stdout, key.Tag)
	for _, in := range key.Inputs {
		fmt.Fprintf(p.Stdout, "%s %s\n", in.Digest, in.Name)
	}
	return nil
}
