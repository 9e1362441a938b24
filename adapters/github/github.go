// Package github is the GitHub Actions front end, on go-githubactions:
// options from the action's inputs, progress as workflow commands (groups,
// masks, annotations), results to the GITHUB_OUTPUT, GITHUB_ENV and
// GITHUB_STEP_SUMMARY files.
package github

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/ghcr"
)

// InputVar is the variable the runner sets for an input, the one
// githubactions.GetInput reads: INPUT_ and the name upper-cased, spaces as
// _, hyphens kept (cache-on -> INPUT_CACHE-ON).
func InputVar(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// TokenInput is the action's input that holds the GitHub token, the
// credential of registry-provider: ghcr (its default: github.token). It is
// the action's own, not an option of the other front ends.
const TokenInput = "github-token"

// runnerInputs are inputs the runner itself gives meaning to when an
// action is used as `uses: docker://image`: the container's args and
// entrypoint. They are not options and are ignored.
var runnerInputs = map[string]bool{"INPUT_ARGS": true, "INPUT_ENTRYPOINT": true}

// Load reads the action's inputs into a Config, through go-githubactions:
// GetInput for the inputs and Context for the workspace and the repository.
// An empty input is not set: the runner sets every input the action
// declares, empty when the workflow does not give it.
func Load(env frontend.Env) (engine.Config, error) {
	a := githubactions.New(githubactions.WithGetenv(env.Getenv))
	c := engine.NewConfig()
	c.Getenv = env.Getenv
	var errs []error

	errs = append(errs, unknownInputs(env.Environ)...)
	for _, o := range engine.Options {
		v := a.GetInput(o.Name) // INPUT_CACHE-ON for cache-on, trimmed
		if v == "" {
			continue
		}
		if o.Name == "dockerfile-inline" {
			// Its bytes are part of the key: taken as given, untrimmed.
			v = a.Getenv(InputVar(o.Name))
		}
		if err := c.SetText(o.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("input %w", err))
		}
	}

	gc, err := a.Context()
	if gc == nil {
		// Only an unreadable event payload leaves no context at all. Other
		// errors are numbers or booleans in variables this action does not read.
		return c, &engine.ConfigError{Err: errors.Join(append(errs, fmt.Errorf("reading the workflow's context: %w", err))...)}
	}
	ws := gc.Workspace
	if ws != "" && !filepath.IsAbs(ws) {
		ws = filepath.Join(env.Dir, ws)
	}
	switch info, err := os.Stat(ws); {
	case ws == "":
		errs = append(errs, errors.New("GITHUB_WORKSPACE is not set: the github command runs as a GitHub Actions step, which sets it to the checkout (/github/workspace in the action's container)"))
	case err != nil:
		errs = append(errs, fmt.Errorf("GITHUB_WORKSPACE %s: %v: check out the repository before this step (actions/checkout)", gc.Workspace, errors.Unwrap(err)))
	case !info.IsDir():
		errs = append(errs, fmt.Errorf("GITHUB_WORKSPACE %s is not a directory", gc.Workspace))
	default:
		c.WorkDir = filepath.Clean(ws)
	}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV"} {
		if a.Getenv(name) == "" {
			errs = append(errs, fmt.Errorf("%s is not set: the runner sets it for every step (runner 2.297 or later)", name))
		}
	}

	c.ForkPullRequest = forkPullRequest(gc.EventName, gc.Event)
	owner, repo := gc.Repo()
	if owner != "" && repo != "" {
		c.DefaultName = "build-cache/" + strings.ToLower(owner+"/"+repo)
	}
	if a.GetInput("registry-provider") == "" {
		c.RegistryProvider = engine.ProviderGHCR
	}
	if c.RegistryProvider == engine.ProviderGHCR && c.Registry == "" && owner != "" && repo != "" {
		c.Registry = "ghcr.io/" + strings.ToLower(owner+"/"+repo) + "/build-cache"
	}
	if token := a.GetInput(TokenInput); token != "" {
		c.Getenv = func(name string) string {
			if name == ghcr.EnvToken {
				return token
			}
			return env.Getenv(name)
		}
	}
	if len(errs) > 0 {
		return c, &engine.ConfigError{Err: errors.Join(errs...)}
	}
	return c, nil
}

// unknownInputs reports each INPUT_* variable that is not an option, with
// the option it was probably meant to be.
func unknownInputs(environ []string) []error {
	known := map[string]bool{InputVar(TokenInput): true}
	for _, o := range engine.Options {
		known[InputVar(o.Name)] = true
	}
	var names []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "INPUT_") && !known[k] && !runnerInputs[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var errs []error
	for _, k := range names {
		written := strings.ToLower(strings.TrimPrefix(k, "INPUT_"))
		guess := strings.ReplaceAll(written, "_", "-")
		if _, err := engine.LookupOption(guess); err != nil {
			errs = append(errs, fmt.Errorf("%.100s: %w", k, err)) // a name of any length: cut
		} else {
			errs = append(errs, fmt.Errorf("%s: unknown input %q: did you mean %q? Input names keep their hyphens (%s)", k, written, guess, InputVar(guess)))
		}
	}
	return errs
}

// EnvSecrets are the credentials every front end masks before anything
// is printed, and the github-token input.
func EnvSecrets(getenv func(string) string) []string {
	out := frontend.EnvSecrets(getenv)
	if t := getenv(InputVar(TokenInput)); t != "" {
		out = append(out, t)
	}
	return out
}

// BuildSecrets are the values of the build secrets taken from the
// environment (secrets: NAME or id=…,env=…), to be masked too.
func BuildSecrets(c engine.Config) []string {
	var out []string
	for _, s := range c.Secrets {
		sec, err := engine.ParseSecret(s, c.Getenv)
		if err == nil && sec.Env != "" && c.Getenv(sec.Env) != "" {
			out = append(out, c.Getenv(sec.Env))
		}
	}
	return out
}
