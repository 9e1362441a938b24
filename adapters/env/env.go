// Package env is the generic front end, for plain shells and other CIs:
// options from DOCKER_ECR_CACHE_* environment variables and command-line
// flags, results as dotenv or JSON on stdout or to a file, and a plain log
// on stderr.
package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Prefix starts every option's environment variable.
const Prefix = "DOCKER_ECR_CACHE_"

// Settings that are not engine options: where the results go.
type Settings struct {
	Output     string // dotenv or json
	OutputFile string // empty for stdout
	// OutputPrefix starts every dotenv name (DOCKER_ECR_CACHE_ makes
	// DOCKER_ECR_CACHE_IMAGE_REF), so that the results replace none of a
	// later step's own variables.
	OutputPrefix string
}

// settingNames are the settings' flags and, upper-cased after Prefix,
// their variables.
var settingNames = []string{"output", "output-file", "output-prefix"}

func (s *Settings) field(name string) *string {
	switch name {
	case "output":
		return &s.Output
	case "output-file":
		return &s.OutputFile
	case "output-prefix":
		return &s.OutputPrefix
	}
	return nil
}

// notOptions are DOCKER_ECR_CACHE_* variables with other meanings: the
// settings, the registry credential, the test bed's, and the results
// (a GitLab dotenv report hands DOCKER_ECR_CACHE_IMAGE_REF and the others
// to later jobs, which may run this tool again).
var notOptions = func() map[string]bool {
	m := map[string]bool{
		"REGISTRY_USERNAME": true, "REGISTRY_PASSWORD": true, "BINARY": true,
	}
	for _, name := range settingNames {
		m[engine.EnvName(name)] = true
	}
	for _, o := range (engine.Result{}).Outputs() {
		m[engine.EnvName(o.Name)] = true
	}
	return m
}()

// Load reads options from the environment, then from args: flags win.
// An empty variable counts as unset.
func Load(args []string, env frontend.Env) (engine.Config, Settings, error) {
	c := engine.NewConfig()
	c.Getenv = env.Getenv
	c.WorkDir = env.Dir
	s, err := Parse(&c, Settings{Output: "dotenv"}, args, env)
	if c.ECRName == "" {
		c.DefaultName = "build-cache/" + repoName(filepath.Base(c.WorkDir))
	}
	return c, s, err
}

// Parse sets options in c and settings over s, from the DOCKER_ECR_CACHE_*
// variables, then from args (--name value or --name=value): flags win, and
// a list flag replaces the variable's list. An empty variable counts as
// unset. Front ends that read the generic options start from their own
// defaults in c and s.
func Parse(c *engine.Config, s Settings, args []string, env frontend.Env) (Settings, error) {
	getenv := env.Getenv
	for _, name := range settingNames {
		if v := getenv(Prefix + engine.EnvName(name)); v != "" {
			*s.field(name) = v
		}
	}

	var errs []error
	byEnv := map[string]string{}
	for _, o := range engine.Options {
		byEnv[engine.EnvName(o.Name)] = o.Name
	}
	var names []string
	for _, kv := range env.Environ {
		k, v, _ := strings.Cut(kv, "=")
		if rest, ok := strings.CutPrefix(k, Prefix); ok && !notOptions[rest] && v != "" {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	for _, rest := range names {
		name, ok := byEnv[rest]
		if !ok {
			// Name the variable as written; suggest from the option names.
			_, err := engine.LookupOption(strings.ToLower(strings.ReplaceAll(rest, "_", "-")))
			errs = append(errs, fmt.Errorf("%.100s: %w", Prefix+rest, err)) // a name of any length: cut
			continue
		}
		if err := c.SetText(name, getenv(Prefix+rest)); err != nil {
			errs = append(errs, err)
		}
	}

	cleared := map[string]bool{} // a list flag replaces the env list
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "--") {
			errs = append(errs, engine.Configf("unexpected argument %q: options are --name value", arg))
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if setting := s.field(name); setting != nil {
			if !hasValue {
				if i+1 >= len(args) {
					errs = append(errs, engine.Configf("--%s needs a value", name))
					continue
				}
				i++
				value = args[i]
			}
			*setting = value
			continue
		}
		o, err := engine.LookupOption(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !hasValue {
			switch {
			case o.Kind == engine.Bool && (i+1 >= len(args) || strings.HasPrefix(args[i+1], "--")):
				value = "true"
			case i+1 >= len(args):
				errs = append(errs, engine.Configf("--%s needs a value", name))
				continue
			default:
				i++
				value = args[i]
			}
		}
		if o.Kind == engine.List && !cleared[name] {
			cleared[name] = true
			_ = c.SetText(name, "")
		}
		if err := c.AppendText(name, value); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Output != "dotenv" && s.Output != "json" {
		errs = append(errs, engine.Configf("output %q is not known: use dotenv or json", s.Output))
	}
	if !dotenvName().MatchString(s.OutputPrefix + "X") {
		errs = append(errs, engine.Configf("output-prefix %q: a variable name holds only letters, digits and _, and starts with a letter or _", s.OutputPrefix))
	}
	if len(errs) > 0 {
		return s, &engine.ConfigError{Err: errors.Join(errs...)}
	}
	return s, nil
}

// dotenvName is what a dotenv variable's name may be, on every CI.
var dotenvName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

var notRepoChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9._-]+`) })

// repoName makes a directory name usable in a repository name.
func repoName(s string) string {
	s = strings.Trim(notRepoChars().ReplaceAllString(strings.ToLower(s), "-"), "-._")
	if s == "" {
		return "default"
	}
	return s
}

// Write writes the results as dotenv (NAME=value, quoted when needed) or
// JSON. Dotenv names are the prefix, then the outputs upper-cased with _
// for -, e.g. IMAGE_REF.
func Write(w io.Writer, s Settings, r engine.Result) error {
	if s.Output == "json" {
		out := map[string]string{}
		for _, o := range r.Outputs() {
			out[o.Name] = o.Value
		}
		return writeJSON(w, out)
	}
	for _, o := range r.Outputs() {
		if _, err := fmt.Fprintf(w, "%s%s=%s\n", s.OutputPrefix, engine.EnvName(o.Name), dotenvQuote(o.Value)); err != nil {
			return err
		}
	}
	return nil
}

var plain = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./:@+-]*$`) })

// dotenvQuote quotes a value for the shell unless it is plainly safe.
func dotenvQuote(v string) string {
	if plain().MatchString(v) {
		return v
	}
	return frontend.ShellQuote(v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
