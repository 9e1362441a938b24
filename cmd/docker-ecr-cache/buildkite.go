package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/buildkite"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// annotateTimeout bounds the buildkite-agent annotate call.
const annotateTimeout = 10 * time.Second

// buildkiteFrontEnd is the Buildkite plugin: hooks/pre-command runs
// `docker-ecr-cache buildkite --export-file F` and sources F on success.
type buildkiteFrontEnd struct {
	ctx        context.Context
	p          process
	log        *report.Reporter
	exportFile string // empty: the export lines go to stdout
	imageVar   string
}

func runBuildkite(ctx context.Context, args []string, p process) error {
	fe := &buildkiteFrontEnd{ctx: ctx, p: p, log: report.New(p.Stderr, report.Buildkite)}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if name != "--export-file" {
			return engine.Configf("buildkite: unexpected argument %q: the only one is --export-file FILE", args[i])
		}
		if !hasValue {
			if i+1 >= len(args) {
				return engine.Configf("buildkite: --export-file needs a file name")
			}
			i++
			value = args[i]
		}
		fe.exportFile = value
	}
	return runWith(ctx, fe)
}

func (b *buildkiteFrontEnd) Reporter() *report.Reporter { return b.log }

func (b *buildkiteFrontEnd) Load() (engine.Config, error) {
	for _, w := range buildkite.Warnings(b.p.Getenv, b.p.Environ) {
		b.log.Warnf("%s", w)
	}
	cfg, err := buildkite.Load(b.p.Getenv, b.p.Environ)
	b.imageVar = cfg.ExportEnvVariable
	return cfg, err
}

// Emit writes the export file, then annotates the build. Only the export
// file can fail the step.
func (b *buildkiteFrontEnd) Emit(r engine.Result) error {
	exports := buildkite.Exports(b.imageVar, r)
	var err error
	if b.exportFile == "" {
		err = buildkite.WriteExports(b.p.Stdout, exports)
	} else {
		err = buildkite.WriteExportFile(b.exportFile, exports)
	}
	if err != nil {
		return err
	}
	b.annotate(r)
	return nil
}

// annotate adds the job's annotation when buildkite-agent is at hand. It
// warns, and never fails the step, when that does not work.
func (b *buildkiteFrontEnd) annotate(r engine.Result) {
	if b.p.Getenv("BUILDKITE_JOB_ID") == "" {
		return
	}
	agent := lookPath("buildkite-agent", b.p.Getenv("PATH"))
	if agent == "" {
		return
	}
	style, body := buildkite.Annotation(r)
	ctx, cancel := context.WithTimeout(b.ctx, annotateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, agent, "annotate", "--style", style, "--context", buildkite.AnnotationContext(b.p.Getenv, b.imageVar))
	cmd.Env = b.p.Environ
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		b.log.Warnf("buildkite-agent annotate failed, so this build has no docker-ecr-cache annotation: %v: %s", err, strings.TrimSpace(out.String()))
	}
}

// lookPath finds an executable in path, the job's PATH.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		file := filepath.Join(dir, name)
		if fi, err := os.Stat(file); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return file
		}
	}
	return ""
}
