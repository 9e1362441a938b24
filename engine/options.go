package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of an option's value.
type Kind int

// The kinds of option value.
const (
	String Kind = iota
	List
	Bool
	Int
	Map
)

func (k Kind) String() string {
	return [...]string{"a string", "a list of strings", "a boolean (true or false)", "a whole number", "a map of strings"}[k]
}

// Option describes one option that every front end accepts.
type Option struct {
	Name  string
	Kind  Kind
	Usage string
	field func(*Config) any // pointer to the field
}

// Options is every option, in the order docs/options.md lists them (go
// generate ./... writes it, plugin.yml and action.yml from this list).
var Options = []Option{
	{"dockerfile", String, "Dockerfile to build, relative to the checkout (default: Dockerfile).", func(c *Config) any { return &c.Dockerfile }},
	{"dockerfile-inline", String, "Dockerfile content given inline instead of a file.", func(c *Config) any { return &c.DockerfileInline }},
	{"context", String, "Build context directory (default: the Dockerfile's directory, or . with dockerfile-inline).", func(c *Config) any { return &c.Context }},
	{"target", String, "Stage of a multi-stage Dockerfile to build.", func(c *Config) any { return &c.Target }},
	{"platform", String, "Platform to build for, os/arch[/variant] (default: the daemon's).", func(c *Config) any { return &c.Platform }},
	{"build-args", List, "Build args, NAME=value or NAME to take the value from the environment. Part of the key.", func(c *Config) any { return &c.BuildArgs }},
	{"additional-build-args", String, "Extra docker build flags (--ssh, --network, --no-cache, --label, --platform, --build-arg, --add-host). Part of the key.", func(c *Config) any { return &c.AdditionalBuildArgs }},
	{"cache-on", List, "Files or globs (** allowed) whose content is part of the key; file.json#.path hashes only that JSON value.", func(c *Config) any { return &c.CacheOn }},
	{"secrets", List, "Build secrets: NAME (from the environment) or id=…,src=… / id=…,env=…. Never part of the key.", func(c *Config) any { return &c.Secrets }},
	{"ecr-name", String, "Repository name (default: build-cache/<org>/<pipeline> on Buildkite, build-cache/<owner>/<repo> on GitHub).", func(c *Config) any { return &c.ECRName }},
	{"ecr-tags", Map, "Tags for a new ECR repository.", func(c *Config) any { return &c.ECRTags }},
	{"ecr-account-id", String, "AWS account that owns the ECR repository (default: the caller's), for cross-account registries.", func(c *Config) any { return &c.ECRAccountID }},
	{"region", String, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, else eu-west-1).", func(c *Config) any { return &c.Region }},
	{"max-age-days", Int, "Days a key's image is kept: by the lifecycle policy on ECR, by prune on other registries (default: 30).", func(c *Config) any { return &c.MaxAgeDays }},
	{"export-env-variable", String, "Variable that receives image:tag (default: BUILDKITE_PLUGIN_DOCKER_IMAGE).", func(c *Config) any { return &c.ExportEnvVariable }},
	{"registry-provider", String, "ecr (default; ghcr in the GitHub Action), gcr, artifact-registry, ghcr, acr, buildkite-packages, registry (any OCI registry) or local (the daemon only).", func(c *Config) any { return &c.RegistryProvider }},
	{"gcp-project", String, "Google Cloud project, required with gcr and artifact-registry.", func(c *Config) any { return &c.GCPProject }},
	{"registry-hostname", String, "Registry host: gcr.io by default for gcr; the login server (NAME.azurecr.io) for acr; packages.buildkite.com by default for buildkite-packages; overrides the ECR registry host.", func(c *Config) any { return &c.RegistryHostname }},
	{"registry", String, "Repository host[:port]/path for registry-provider: registry and ghcr (default for ghcr in the GitHub Action: ghcr.io/<owner>/<repo>/build-cache).", func(c *Config) any { return &c.Registry }},
	{"skip-pull-from-cache", Bool, "On a hit, hand over the reference without pulling the image.", func(c *Config) any { return &c.SkipPullFromCache }},
	{"push-latest", Bool, "On a miss, also move the latest tag (default: true).", func(c *Config) any { return &c.PushLatest }},
	{"local-prefix", String, "With registry-provider: local, the image name or namespace this tool may write (default: build-cache/).", func(c *Config) any { return &c.LocalPrefix }},
	{"allow-empty-cache-on", Bool, "Let a cache-on glob match no file instead of failing.", func(c *Config) any { return &c.AllowEmptyCacheOn }},
	{"stall-timeout-build", String, "A build that shows no progress for this long (a duration such as 5m; 0: no limit) fails (default: 5m).", func(c *Config) any { return &c.StallTimeoutBuild }},
	{"stall-timeout-pull-push", String, "A pull or push that shows no progress for this long (a duration such as 2m; 0: no limit) fails (default: 2m).", func(c *Config) any { return &c.StallTimeoutPullPush }},
	{"lock-dir", String, "Directory of the lock files that let one run on a machine build a key while the others wait (default: docker-ecr-cache/locks in the user's cache directory).", func(c *Config) any { return &c.LockDir }},
	{"lock-timeout", String, "How long a run waits for another run's build of the same key before building it too (a duration such as 30m; default: 30m).", func(c *Config) any { return &c.LockTimeout }},
	{"unhashed-build-args", List, "Build args passed to the build but kept out of the key, NAME=value or NAME, for volatile values such as a build number.", func(c *Config) any { return &c.UnhashedBuildArgs }},
	{"buildkit-host", String, "BuildKit daemon that builds and pushes on a miss: tcp://host:port, unix:///path, docker-container://name or kube-pod://name (default: the job's Docker daemon builds).", func(c *Config) any { return &c.BuildKitHost }},
	{"buildkit-tls-ca", String, "CA certificate (PEM) that signed a tcp:// buildkit-host's certificate.", func(c *Config) any { return &c.BuildKitTLSCA }},
	{"buildkit-tls-cert", String, "Client certificate (PEM) for a tcp:// buildkit-host, with buildkit-tls-key.", func(c *Config) any { return &c.BuildKitTLSCert }},
	{"buildkit-tls-key", String, "Client key (PEM) for a tcp:// buildkit-host, with buildkit-tls-cert.", func(c *Config) any { return &c.BuildKitTLSKey }},
	{"cache-to", String, "Registry ref where a buildkit-host build keeps its full layer cache (mode=max), and reads it back (default: <image>:buildcache).", func(c *Config) any { return &c.CacheTo }},
	{"cache-from", List, "More registry refs to read layer cache from, with either builder; a ref not pushed yet is skipped.", func(c *Config) any { return &c.CacheFrom }},
	{"cache-key", List, "Strings hashed into the key as an input of their own: change one (for example to v2) to rebuild on purpose.", func(c *Config) any { return &c.CacheKey }},
	{"buildkite-organization", String, "Buildkite organization slug for buildkite-packages (default: BUILDKITE_ORGANIZATION_SLUG).", func(c *Config) any { return &c.BuildkiteOrg }},
	{"buildkite-registry", String, "Slug of the Buildkite Packages container registry, required with buildkite-packages.", func(c *Config) any { return &c.BuildkiteRegistry }},
	{"prune", Bool, "After the run, delete the images of keys older than max-age-days, but the newest keep-last and latest's (not on ECR, whose lifecycle policy does it).", func(c *Config) any { return &c.Prune }},
	{"keep-last", Int, "The newest keys whose images prune keeps whatever their age (default: 10).", func(c *Config) any { return &c.KeepLast }},
	{"verbose", Bool, "Log every cache-on file with its digest, besides the one line per cache-on entry (its file count and digest).", func(c *Config) any { return &c.Verbose }},
	{"save", Bool, "Store the image a miss builds: push the key tag and move latest (default: true). false: build and hand the image over from this machine, pushing nothing.", func(c *Config) any { return &c.Save }},
	{"restore", Bool, "Use the key's stored image on a hit (default: true). false: build even on a hit, then move the key tag to the new image, as a nightly rebuild for base-image fixes does.", func(c *Config) any { return &c.Restore }},
	{"fallback-tag", String, "Tag that layer cache and the miss's explanation read when latest is absent or push-latest is false, as on a registry with immutable tags; without either, the newest key's image, found by its labels.", func(c *Config) any { return &c.FallbackTag }},
}

// OptionNames lists every option name.
func OptionNames() []string {
	names := make([]string, len(Options))
	for i, o := range Options {
		names[i] = o.Name
	}
	return names
}

// EnvName is an option or output name as environment variables spell it:
// upper case, with _ for - (cache-on -> CACHE_ON).
func EnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// LookupOption finds an option by name; an unknown name's error suggests the
// nearest valid one.
func LookupOption(name string) (Option, error) {
	for _, o := range Options {
		if o.Name == name {
			return o, nil
		}
	}
	return Option{}, Configf("unknown option %q%s; valid options are: %s", name, suggestion(name, OptionNames()), strings.Join(OptionNames(), ", "))
}

// SetText sets an option from text, as environment variables and action
// inputs give it: lists as ParseList reads them, booleans true or false in
// any case, maps a JSON object or KEY=value lines.
func (c *Config) SetText(name, text string) error {
	o, err := LookupOption(name)
	if err != nil {
		return err
	}
	switch p := o.field(c).(type) {
	case *string:
		*p = text
	case *[]string:
		list, err := ParseList(text)
		if err != nil {
			return Configf("%s: %v", name, err)
		}
		*p = list
	case *bool:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true":
			*p = true
		case "false":
			*p = false
		default:
			return Configf("%s is %q: write true or false", name, text)
		}
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return Configf("%s is %q: write a whole number", name, text)
		}
		*p = n
	case *map[string]string:
		m, err := parseMapText(text)
		if err != nil {
			return Configf("%s: %v", name, err)
		}
		*p = m
	}
	return nil
}

// AppendText adds to a list option the items of text, as ParseList reads
// them, as repeated flags do.
func (c *Config) AppendText(name, text string) error {
	o, err := LookupOption(name)
	if err != nil {
		return err
	}
	if p, ok := o.field(c).(*[]string); ok {
		list, err := ParseList(text)
		if err != nil {
			return Configf("%s: %v", name, err)
		}
		*p = append(*p, list...)
		return nil
	}
	return c.SetText(name, text)
}

// SetJSON sets an option from a decoded JSON value, as Buildkite's plugin
// configuration gives it. A list also accepts a single string, as the
// original plugin did, read by ParseList.
func (c *Config) SetJSON(name string, v any) error {
	o, err := LookupOption(name)
	if err != nil {
		return err
	}
	wrong := func() error {
		return Configf("%s must be %s, not %s", name, o.Kind, jsonType(v))
	}
	switch p := o.field(c).(type) {
	case *string:
		switch v := v.(type) {
		case string:
			*p = v
		case float64:
			*p = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return wrong()
		}
	case *[]string:
		switch v := v.(type) {
		case string:
			list, err := ParseList(v)
			if err != nil {
				return Configf("%s: %v", name, err)
			}
			*p = list
		case []any:
			list := make([]string, 0, len(v))
			for i, item := range v {
				s, ok := item.(string)
				if !ok {
					return Configf("%s[%d] must be a string, not %s", name, i, jsonType(item))
				}
				list = append(list, s)
			}
			*p = list
		default:
			return wrong()
		}
	case *bool:
		switch v := v.(type) {
		case bool:
			*p = v
		case string:
			return c.SetText(name, v)
		default:
			return wrong()
		}
	case *int:
		switch v := v.(type) {
		case float64:
			if v != float64(int(v)) {
				return Configf("%s is %v: write a whole number", name, v)
			}
			*p = int(v)
		case string:
			return c.SetText(name, v)
		default:
			return wrong()
		}
	case *map[string]string:
		m, ok := v.(map[string]any)
		if !ok {
			return wrong()
		}
		out := make(map[string]string, len(m))
		for k, item := range m {
			switch item := item.(type) {
			case string:
				out[k] = item
			case float64, bool:
				out[k] = fmt.Sprint(item)
			default:
				return Configf("%s.%s must be a string, not %s", name, k, jsonType(item))
			}
		}
		*p = out
	}
	return nil
}

// ParseList reads a list option's text, in any of the forms CIs write
// lists in: one item a line, or the whole text in brackets, as a JSON
// array (["a","b"], how GitLab writes an array input into a string) or a
// one-line YAML flow sequence ([a, 'b c']). Items are trimmed and empty
// ones dropped. A lone item that is itself in brackets is written quoted:
// ["[ab]"].
func ParseList(text string) ([]string, error) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return splitLines(text), nil
	}
	var items []string
	if err := json.Unmarshal([]byte(t), &items); err == nil {
		var out []string
		for _, item := range items {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	}
	if strings.Contains(t, "\n") {
		return splitLines(text), nil
	}
	return parseFlow(t[1 : len(t)-1])
}

// parseFlow reads the items of a YAML flow sequence between its brackets:
// plain items end at a comma; quoted ones, 'a, b' or "a, b", may hold commas.
func parseFlow(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if s == "" {
			return out, nil
		}
		var item string
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("the list item %.40q has no closing \": quote each item whole", s)
			}
			var err error
			if item, err = strconv.Unquote(s[:end+1]); err != nil {
				return nil, fmt.Errorf("the list item %s: %v", s[:end+1], err)
			}
			s = s[end+1:]
		case '\'':
			end := 1
			for end < len(s) && (s[end] != '\'' || strings.HasPrefix(s[end:], "''")) {
				if s[end] == '\'' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("the list item %.40q has no closing ': quote each item whole", s)
			}
			item = strings.ReplaceAll(s[1:end], "''", "'")
			s = s[end+1:]
		default:
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			item, s = s[:end], s[end:]
		}
		s = strings.TrimLeft(s, " \t\r\n")
		if s != "" && s[0] != ',' {
			return nil, fmt.Errorf("the list item %q is followed by %.40q: separate items with commas", item, s)
		}
		s = strings.TrimPrefix(s, ",")
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
}

func splitLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func parseMapText(text string) (map[string]string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if strings.HasPrefix(text, "{") {
		var raw map[string]any
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		out := make(map[string]string, len(raw))
		for k, v := range raw {
			out[k] = fmt.Sprint(v)
		}
		return out, nil
	}
	out := map[string]string{}
	for _, line := range splitLines(text) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %q is not KEY=value: give KEY=value lines or a JSON object", line)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// suggestion returns `: did you mean "x"?` for the nearest candidate
// within a small edit distance, or "".
func suggestion(name string, candidates []string) string {
	best, bestDist := "", 1<<30
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := editDistance(strings.ToLower(name), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(2, len(name)/3) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Default is the option's value when it is not given, as text that SetText
// reads back (booleans true or false; "" when it has none): the reference
// in docs/options.md, plugin.yml and action.yml are checked against it.
func (o Option) Default() string {
	c := NewConfig()
	switch p := o.field(&c).(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		if *p == 0 {
			return ""
		}
		return strconv.Itoa(*p)
	case *[]string:
		return strings.Join(*p, "\n")
	case *map[string]string:
		if len(*p) == 0 {
			return ""
		}
		b, _ := json.Marshal(*p)
		return string(b)
	}
	return ""
}
