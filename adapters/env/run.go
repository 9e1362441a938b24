package env

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Run is the run command: the results go to stdout or the output file,
// progress to stderr in the plain style.
func Run(ctx context.Context, args []string, env frontend.Env) error {
	return frontend.Run(ctx, &frontEnd{args: args, env: env, log: report.New(env.Stderr, Style{})})
}

// Key is the key command: it prints the key, then a line per input with
// its digest (- for a build arg, whose value is not shown), or all of it
// as JSON. It needs no daemon. An error is shown as run shows it, escaped.
func Key(ctx context.Context, args []string, env frontend.Env) error {
	cfg, settings, err := Load(args, env)
	k, err := frontend.Key(ctx, cfg, err)
	if err != nil {
		return frontend.Fail(report.New(env.Stderr, Style{}), err)
	}
	// Build args are shown by name only, as everywhere: their digests
	// would give guessable values away.
	k.Inputs = key.PublishedInputs(k.Inputs)
	if settings.Output == "json" {
		return writeJSON(env.Stdout, k)
	}
	fmt.Fprintln(env.Stdout, k.Tag)
	for _, in := range k.Inputs {
		d := in.Digest
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(env.Stdout, "%s %s\n", d, engine.EscapeControl(in.Name))
	}
	return nil
}

type frontEnd struct {
	args []string
	env  frontend.Env
	log  *report.Reporter
	out  Settings
}

func (f *frontEnd) Reporter() *report.Reporter { return f.log }

// Load reads the configuration. It removes the output file of an earlier
// run at once, so that a run that fails, however it ends, leaves no file
// whose old values a later step could take for this run's.
func (f *frontEnd) Load() (engine.Config, error) {
	cfg, settings, err := Load(f.args, f.env)
	f.out = settings
	return cfg, errors.Join(err, frontend.RemoveStale(settings.OutputFile))
}

// Emit writes the results to stdout, or to the output file: written whole
// to a temporary file in the same directory, then renamed over it, so that
// a reader never sees half of it.
func (f *frontEnd) Emit(r engine.Result) error {
	if f.out.OutputFile == "" {
		return Write(f.env.Stdout, f.out, r)
	}
	return frontend.WriteFile(f.out.OutputFile, func(w io.Writer) error { return Write(w, f.out, r) })
}

// Style is the plain log style, for terminals and CIs without groups.
type Style struct{}

var _ report.Style = Style{}

// Group writes "==> " and the phase's title.
func (Style) Group(w io.Writer, p engine.Phase, subject string) {
	fmt.Fprintln(w, "==> "+p.Title(subject))
}

// EndGroup writes nothing: a group ends where the next begins.
func (Style) EndGroup(io.Writer) {}

// Warning writes "warning: " and msg.
func (Style) Warning(w io.Writer, msg string) { fmt.Fprintln(w, "warning: "+msg) }

// Error writes "error: " and err.
func (Style) Error(w io.Writer, err error) { fmt.Fprintln(w, "error: "+err.Error()) }

// Mask writes nothing: a terminal cannot hide values.
func (Style) Mask(io.Writer, string) {}

// Guard leaves line as it is: a plain log has no commands, and the
// Reporter has escaped the control characters that drive a terminal.
func (Style) Guard(line string) string { return line }

// Prune is the prune command: it deletes the images of old keys from the
// repository the options name (max-age-days, keep-last), printing the
// plan and each deletion to stdout; with --dry-run it only prints the plan.
func Prune(ctx context.Context, args []string, env frontend.Env) error {
	log := report.New(env.Stderr, Style{})
	dryRun := false
	var rest []string
	for _, a := range args {
		switch a {
		case "--dry-run", "--dry-run=true":
			dryRun = true
		case "--dry-run=false":
		default:
			rest = append(rest, a)
		}
	}
	cfg, _, err := Load(rest, env)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return frontend.Fail(log, err)
	}
	_, err = frontend.Prune(ctx, &cfg, log, dryRun, func(line string) { fmt.Fprintln(env.Stdout, line) })
	if err != nil {
		return frontend.Fail(log, fmt.Errorf("prune: %w", err))
	}
	return nil
}
