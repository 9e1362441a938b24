package buildkite

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Run is the plugin's entry point: hooks/pre-command runs
// `docker-ecr-cache buildkite --export-file F` and sources F on success.
// Without --export-file, the export lines go to stdout.
func Run(ctx context.Context, args []string, env frontend.Env) error {
	exportFile, err := parseArgs(args)
	if err != nil {
		return err
	}
	style := Style{Agent: lookPath("buildkite-agent", env.Getenv("PATH")), Env: env.Environ}
	return frontend.Run(ctx, &frontEnd{ctx: ctx, env: env, log: report.New(env.Stderr, style), exportFile: exportFile})
}

// parseArgs reads the command's only argument, --export-file FILE.
func parseArgs(args []string) (exportFile string, err error) {
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if name != "--export-file" {
			return "", engine.Configf("buildkite: unexpected argument %q: the only one is --export-file FILE", args[i])
		}
		if !hasValue {
			if i+1 >= len(args) {
				return "", engine.Configf("buildkite: --export-file needs a file name")
			}
			i++
			value = args[i]
		}
		exportFile = value
	}
	return exportFile, nil
}

type frontEnd struct {
	ctx        context.Context
	env        frontend.Env
	log        *report.Reporter
	exportFile string // empty: the export lines go to stdout
	imageVar   string
}

func (b *frontEnd) Reporter() *report.Reporter { return b.log }

func (b *frontEnd) Load() (engine.Config, error) {
	for _, w := range Warnings(b.env.Getenv, b.env.Environ) {
		b.log.Warnf("%s", w)
	}
	cfg, err := Load(b.env)
	b.imageVar = cfg.ExportEnvVariable
	return cfg, err
}

// Emit writes the export file, then annotates the build. Only the export
// file can fail the step.
func (b *frontEnd) Emit(r engine.Result) error {
	exports := r.Exports(b.imageVar)
	var err error
	if b.exportFile == "" {
		err = WriteExports(b.env.Stdout, exports)
	} else {
		err = WriteExportFile(b.exportFile, exports)
	}
	if err != nil {
		return err
	}
	annotate(b.ctx, b.env, b.log, b.imageVar, r)
	return nil
}

// Style is the agent's log style: --- groups with an emoji per phase, and
// a failure that reopens the group before it (^^^ +++) and is expanded.
type Style struct {
	// Agent is the buildkite-agent executable, empty when the job has
	// none: secrets are then hidden in this tool's output only.
	Agent string
	// Env is the agent's environment, for its job API.
	Env []string
}

var _ report.Style = Style{}

// Group writes "--- ", the phase's emoji and its title.
func (Style) Group(w io.Writer, p engine.Phase, subject string) {
	fmt.Fprintf(w, "--- %s %s\n", emoji(p), p.Title(subject))
}

// EndGroup writes nothing: a group ends where the next begins.
func (Style) EndGroup(io.Writer) {}

// Warning writes msg after a warning sign.
func (Style) Warning(w io.Writer, msg string) { fmt.Fprintln(w, "⚠️ warning: "+msg) }

// Error reopens the last group and writes err in an expanded group of its own.
func (Style) Error(w io.Writer, err error) { fmt.Fprintf(w, "^^^ +++\n+++ :x: %v\n", err) }

// redactorTimeout bounds a buildkite-agent redactor add call.
const redactorTimeout = 10 * time.Second

// Mask asks the agent to redact secret from the whole job's log, with
// `buildkite-agent redactor add` (agent 3.67 or later), which reads it on
// stdin. The Reporter hides it in this tool's own output in any case, so a
// failure is a warning.
func (s Style) Mask(w io.Writer, secret string) {
	if s.Agent == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), redactorTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Agent, "redactor", "add")
	cmd.Env = s.Env
	cmd.Stdin = strings.NewReader(secret)
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		s.Warning(w, fmt.Sprintf("buildkite-agent redactor add failed, so the agent does not redact a secret from the rest of the job's log (this tool's output still hides it): %v", err))
	}
}

// Guard keeps a line from reading as a group marker (---, +++, ~~~ or
// ^^^): such a line is written after a zero-width space.
func (Style) Guard(line string) string {
	return frontend.Guarded(line, "---", "+++", "~~~", "^^^")
}

func emoji(p engine.Phase) string {
	switch p {
	case engine.PhaseKey:
		return ":key:"
	case engine.PhaseLookup:
		return ":mag:"
	case engine.PhaseWait:
		return ":hourglass:"
	case engine.PhasePrepare:
		return ":package:"
	default:
		return ":docker:"
	}
}
