// Package buildkite is the Buildkite plugin front end: it reads this plugin
// instance's configuration as the agent hands it over, logs in the agent's
// style, writes the results as the export lines hooks/pre-command sources
// and annotates the build.
package buildkite

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Prefix starts the flattened variables of this plugin's options, as the
// agent names them for docker-ecr-cache (and docker-ecr-cache-buildkite-plugin).
const Prefix = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_"

// ConfigurationVar holds the JSON of this plugin instance's configuration.
const ConfigurationVar = "BUILDKITE_PLUGIN_CONFIGURATION"

// Load reads the configuration of this plugin instance: the JSON in
// BUILDKITE_PLUGIN_CONFIGURATION, or, on agents too old to set it, the
// flattened BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_* variables, from the job's
// environment.
func Load(env frontend.Env) (engine.Config, error) {
	getenv, environ := env.Getenv, env.Environ
	c := engine.NewConfig()
	c.Getenv = getenv
	c.WorkDir = env.Dir
	c.ForkPullRequest = forkPullRequest(getenv)
	if name := DefaultName(getenv); name != "" {
		c.DefaultName = name
	}
	var err error
	if raw := getenv(ConfigurationVar); raw != "" {
		err = loadJSON(&c, raw)
	} else {
		err = loadFlattened(&c, getenv, environ)
	}
	return c, err
}

// DefaultName is the original plugin's repository name,
// build-cache/<organization>/<pipeline>, or "" outside a Buildkite job.
func DefaultName(getenv func(string) string) string {
	org, pipeline := getenv("BUILDKITE_ORGANIZATION_SLUG"), getenv("BUILDKITE_PIPELINE_SLUG")
	if org == "" || pipeline == "" {
		return ""
	}
	return strings.ToLower("build-cache/" + org + "/" + pipeline)
}

// Warnings lists what the user should know about how the configuration was
// read: map keys lose their case in the flattened variables.
func Warnings(getenv func(string) string, environ []string) []string {
	if getenv(ConfigurationVar) != "" {
		return nil
	}
	for _, kv := range environ {
		if strings.HasPrefix(kv, Prefix+"ECR_TAGS_") {
			return []string{"this agent does not set " + ConfigurationVar + ", so ecr-tags keys arrive upper-cased " +
				"(Key becomes KEY): upgrade the agent to keep their case"}
		}
	}
	return nil
}

func loadJSON(c *engine.Config, raw string) error {
	var config map[string]any
	if err := json.Unmarshal([]byte(raw), &config); err != nil {
		return engine.Configf("%s is not a JSON object: %v", ConfigurationVar, err)
	}
	names := make([]string, 0, len(config))
	for name := range config {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if err := c.SetJSON(name, config[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return joinConfig(errs)
}

// loadFlattened rebuilds the configuration from the agent's flattened
// variables: KEY=value, KEY_0…KEY_n for lists and KEY_SUBKEY for maps.
func loadFlattened(c *engine.Config, getenv func(string) string, environ []string) error {
	scalars := map[string]string{}
	lists := map[string]map[int]string{}
	maps := map[string]map[string]any{}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, Prefix)
		if !ok {
			continue
		}
		o, sub, ok := flatOption(rest)
		_, numErr := strconv.Atoi(sub)
		isItem := sub != "" && numErr == nil
		switch {
		case ok && sub == "":
			scalars[o.Name] = getenv(name)
		case ok && o.Kind == engine.Map:
			if maps[o.Name] == nil {
				maps[o.Name] = map[string]any{}
			}
			maps[o.Name][sub] = getenv(name)
		case ok && o.Kind == engine.List && isItem:
			i, _ := strconv.Atoi(sub)
			if lists[o.Name] == nil {
				lists[o.Name] = map[int]string{}
			}
			lists[o.Name][i] = getenv(name)
		case ok && isItem:
			errs = append(errs, engine.Configf("%s: %s must be %s, not a list", name, o.Name, o.Kind))
		case ok:
			errs = append(errs, engine.Configf("%s: %s must be %s, not an object (or %q is an unknown option)",
				name, o.Name, o.Kind, optionName(rest)))
		case strings.HasPrefix(rest, "EXPORT_"):
			// Outputs of an earlier instance of this plugin, not options.
		default:
			_, err := engine.LookupOption(optionName(rest))
			errs = append(errs, fmt.Errorf("%.100s: %w", name, err)) // a name of any length: cut
		}
	}
	for name, v := range scalars {
		if err := c.SetJSON(name, v); err != nil {
			errs = append(errs, err)
		}
	}
	for name, items := range lists {
		if err := c.SetJSON(name, ordered(items)); err != nil {
			errs = append(errs, err)
		}
	}
	for name, m := range maps {
		if err := c.SetJSON(name, m); err != nil {
			errs = append(errs, err)
		}
	}
	return joinConfig(errs)
}

// flatOption finds the option a flattened variable belongs to: CACHE_ON
// is cache-on itself, CACHE_ON_0 an item of it, ECR_TAGS_KEY an entry.
func flatOption(rest string) (o engine.Option, sub string, ok bool) {
	for _, opt := range engine.Options {
		if engine.EnvName(opt.Name) == rest {
			return opt, "", true
		}
	}
	for _, opt := range engine.Options {
		if s, found := strings.CutPrefix(rest, engine.EnvName(opt.Name)+"_"); found && s != "" && len(engine.EnvName(opt.Name)) > len(engine.EnvName(o.Name)) {
			o, sub, ok = opt, s, true
		}
	}
	return o, sub, ok
}

func ordered(items map[int]string) []any {
	idx := make([]int, 0, len(items))
	for i := range items {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]any, len(idx))
	for n, i := range idx {
		out[n] = items[i]
	}
	return out
}

// optionName guesses the option a flattened name was written as, without
// a list index: CACHE_ONN_0 -> cache-onn.
func optionName(rest string) string {
	if i := strings.LastIndex(rest, "_"); i > 0 {
		if _, err := strconv.Atoi(rest[i+1:]); err == nil {
			rest = rest[:i]
		}
	}
	return strings.ToLower(strings.ReplaceAll(rest, "_", "-"))
}

func joinConfig(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return &engine.ConfigError{Err: errors.Join(errs...)}
}
