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

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Prefix starts every option's environment variable.
const Prefix = "DOCKER_ECR_CACHE_"

// Settings that are not engine options: where the results go.
type Settings struct {
	Output     string // dotenv or json
	OutputFile string // empty for stdout
}

// notOptions are DOCKER_ECR_CACHE_* variables with other meanings.
var notOptions = map[string]bool{
	"REGISTRY_USERNAME": true, "REGISTRY_PASSWORD": true,
	"BINARY": true, "OUTPUT": true, "OUTPUT_FILE": true,
}

// Load reads options from the environment, then from args: flags win.
// An empty variable counts as unset.
func Load(args []string, env frontend.Env) (engine.Config, Settings, error) {
	getenv := env.Getenv
	c := engine.NewConfig()
	c.Getenv = getenv
	c.WorkDir = env.Dir
	s := Settings{Output: "dotenv"}
	if v := getenv(Prefix + "OUTPUT"); v != "" {
		s.Output = v
	}
	s.OutputFile = getenv(Prefix + "OUTPUT_FILE")

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
			errs = append(errs, fmt.Errorf("%s%s: %w", Prefix, rest, err))
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
		if name == "output" || name == "output-file" {
			if !hasValue {
				if i+1 >= len(args) {
					errs = append(errs, engine.Configf("--%s needs a value", name))
					continue
				}
				i++
				value = args[i]
			}
			if name == "output" {
				s.Output = value
			} else {
				s.OutputFile = value
			}
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
	if c.ECRName == "" {
		c.DefaultName = "build-cache/" + repoName(filepath.Base(c.WorkDir))
	}
	if len(errs) > 0 {
		return c, s, &engine.ConfigError{Err: errors.Join(errs...)}
	}
	return c, s, nil
}

var notRepoChars = regexp.MustCompile(`[^a-z0-9._-]+`)

// repoName makes a directory name usable in a repository name.
func repoName(s string) string {
	s = strings.Trim(notRepoChars.ReplaceAllString(strings.ToLower(s), "-"), "-._")
	if s == "" {
		return "default"
	}
	return s
}

// Write writes the results as dotenv (NAME=value, quoted when needed) or
// JSON. Dotenv names are upper-cased outputs with _ for -, e.g. IMAGE_REF.
func Write(w io.Writer, format string, r engine.Result) error {
	if format == "json" {
		out := map[string]string{}
		for _, o := range r.Outputs() {
			out[o.Name] = o.Value
		}
		return writeJSON(w, out)
	}
	for _, o := range r.Outputs() {
		if _, err := fmt.Fprintf(w, "%s=%s\n", engine.EnvName(o.Name), dotenvQuote(o.Value)); err != nil {
			return err
		}
	}
	return nil
}

var plain = regexp.MustCompile(`^[A-Za-z0-9_./:@+-]*$`)

// dotenvQuote quotes a value for the shell unless it is plainly safe.
func dotenvQuote(v string) string {
	if plain.MatchString(v) {
		return v
	}
	return frontend.ShellQuote(v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
