package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/env"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/report"
)

// Run is the gitlab command, the component's script: the log goes to
// stdout, which the runner shows, and the results to the dotenv report.
func Run(ctx context.Context, args []string, e frontend.Env) error {
	return run(ctx, args, e, time.Now)
}

func run(ctx context.Context, args []string, e frontend.Env, now func() time.Time) error {
	fe := &frontEnd{args: args, env: e, log: report.New(e.Stdout, &Style{Now: now})}
	for _, s := range jobSecrets(e.Getenv) {
		fe.log.Mask(s)
	}
	return frontend.Run(ctx, fe)
}

type frontEnd struct {
	args []string
	env  frontend.Env
	log  *report.Reporter
	out  env.Settings
}

func (g *frontEnd) Reporter() *report.Reporter { return g.log }

// Load reads the configuration and removes the report of an earlier run,
// so that a run that fails leaves none.
func (g *frontEnd) Load() (engine.Config, error) {
	cfg, settings, err := Load(g.args, g.env)
	if settings.OutputFile != "" {
		settings.OutputFile = cfg.Path(settings.OutputFile)
		err = errors.Join(err, frontend.RemoveStale(settings.OutputFile))
	}
	g.out = settings
	if ProjectRegistry(cfg, engine.StripScheme(g.env.Getenv("CI_REGISTRY"))) {
		g.log.Infof("max-age-days does nothing on the GitLab container registry: keep it small with the project's cleanup policy " +
			"(Settings > Packages and registries > Clean up image tags), for example removing build-cache tags older than 30 days " +
			"but keeping those named latest")
	}
	return cfg, err
}

// Emit writes the dotenv report.
func (g *frontEnd) Emit(r engine.Result) error {
	report, err := Dotenv(g.out.OutputPrefix, r)
	if err != nil {
		return err
	}
	return frontend.WriteFile(g.out.OutputFile, func(w io.Writer) error {
		_, err := w.Write(report)
		return err
	})
}

// MaxDotenvSize is the largest dotenv report GitLab accepts.
const MaxDotenvSize = 5 << 10

// Dotenv is the report: NAME=value lines, the names the outputs'
// upper-cased with _ for - after prefix, the values as they are. GitLab
// reads a value as the text after the first = to the line's end, trimmed,
// with no quoting or escapes, so a value it would read otherwise is
// refused: one with a line break, a NUL, space at either end or quotes
// around it. Then nothing is returned.
func Dotenv(prefix string, r engine.Result) ([]byte, error) {
	var b strings.Builder
	for _, o := range r.Outputs() {
		name := prefix + engine.EnvName(o.Name)
		v := o.Value
		switch {
		case strings.ContainsAny(v, "\r\n\x00"):
			return nil, fmt.Errorf("output %s: the value holds a line break or a NUL, which a dotenv report cannot carry", name)
		case strings.TrimSpace(v) != v:
			return nil, fmt.Errorf("output %s: the value %q starts or ends with space, which GitLab trims", name, v)
		case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
			return nil, fmt.Errorf("output %s: the value %s is in quotes, which GitLab may remove", name, v)
		}
		fmt.Fprintf(&b, "%s=%s\n", name, v)
	}
	if b.Len() > MaxDotenvSize {
		return nil, fmt.Errorf("the dotenv report is %d bytes, more than GitLab's %d", b.Len(), MaxDotenvSize)
	}
	return []byte(b.String()), nil
}

// Style writes GitLab's collapsible sections: each phase in a section of
// its own, the build's collapsed; warnings and errors in colour.
type Style struct {
	// Now stamps the section markers; nil is time.Now.
	Now     func() time.Time
	section string // the open section's name
}

var _ report.Style = (*Style)(nil)

// sectionNames are the phases' section names, unique in a job's log.
var sectionNames = map[engine.Phase]string{
	engine.PhaseKey:     "docker_ecr_cache_key",
	engine.PhaseLookup:  "docker_ecr_cache_lookup",
	engine.PhasePull:    "docker_ecr_cache_pull",
	engine.PhasePrepare: "docker_ecr_cache_prepare",
	engine.PhaseBuild:   "docker_ecr_cache_build",
	engine.PhasePush:    "docker_ecr_cache_push",
}

// Group opens the phase's section, titled with the phase. The title is a
// line the Reporter has escaped and masked.
func (s *Style) Group(w io.Writer, p engine.Phase, subject string) {
	s.section = sectionNames[p]
	if s.section == "" {
		s.section = fmt.Sprintf("docker_ecr_cache_%d", int(p))
	}
	opts := ""
	if p == engine.PhaseBuild {
		opts = "[collapsed=true]"
	}
	fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s%s\r\x1b[0K%s\n", s.now(), s.section, opts, p.Title(subject))
}

// EndGroup closes the open section.
func (s *Style) EndGroup(w io.Writer) {
	if s.section == "" {
		return
	}
	fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", s.now(), s.section)
	s.section = ""
}

func (s *Style) now() int64 {
	if s.Now == nil {
		return time.Now().Unix()
	}
	return s.Now().Unix()
}

// Warning writes msg in yellow.
func (*Style) Warning(w io.Writer, msg string) { fmt.Fprintf(w, "\x1b[33;1mwarning: %s\x1b[0m\n", msg) }

// Error writes err in red, outside any section (the Reporter closes it).
func (*Style) Error(w io.Writer, err error) { fmt.Fprintf(w, "\x1b[31;1merror: %v\x1b[0m\n", err) }

// Mask writes nothing: GitLab masks the masked variables it knows of, and
// has no command to mask a value at run time. The Reporter hides secrets
// in this tool's output itself.
func (*Style) Mask(io.Writer, string) {}

// Guard leaves line as it is: GitLab reads a section marker only with the
// escape character and carriage return around it, and the Reporter has
// escaped those in every line it writes.
func (*Style) Guard(line string) string { return line }
