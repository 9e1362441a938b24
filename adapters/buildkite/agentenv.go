package buildkite

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// AgentEnv returns the variables the Buildkite agent sets for one instance
// of this plugin configured with config, as agent v3 does: the plugin's
// name, the JSON of its configuration and the flattened variables. With
// oldAgent, it leaves out the JSON, as agents before BUILDKITE_PLUGIN_CONFIGURATION
// did. Tests use it to run the plugin as the agent would.
func AgentEnv(config map[string]any, oldAgent bool) ([]string, error) {
	if config == nil {
		config = map[string]any{}
	}
	var out []string
	if !oldAgent {
		b, err := json.Marshal(config)
		if err != nil {
			return nil, err
		}
		out = append(out, "BUILDKITE_PLUGIN_NAME=DOCKER_ECR_CACHE", ConfigurationVar+"="+string(b))
	}
	for k, v := range config {
		if err := flatten(Prefix+agentKey(k), v, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var dashOrSpace = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-|\s`) })

// agentKey is the agent's formatEnvKey: upper case, - and spaces to _.
func agentKey(k string) string { return dashOrSpace().ReplaceAllString(strings.ToUpper(k), "_") }

func flatten(prefix string, v any, out *[]string) error {
	switch v := v.(type) {
	case string, bool, int, float64, json.Number:
		*out = append(*out, fmt.Sprintf("%s=%v", prefix, v))
	case []any:
		for i, item := range v {
			if err := flatten(fmt.Sprintf("%s_%d", prefix, i), item, out); err != nil {
				return err
			}
		}
	case []string:
		for i, item := range v {
			*out = append(*out, fmt.Sprintf("%s_%d=%s", prefix, i, item))
		}
	case map[string]any:
		for k, item := range v {
			if err := flatten(prefix+"_"+agentKey(k), item, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s: a configuration value cannot be %T", prefix, v)
	}
	return nil
}
