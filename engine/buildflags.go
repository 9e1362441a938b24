package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// BuildFlags is additional-build-args parsed into Engine API options.
type BuildFlags struct {
	SSH       []string          // --ssh id[=socket|key,…]
	Network   string            // --network
	NoCache   bool              // --no-cache
	Labels    map[string]string // --label
	Platform  string            // --platform
	BuildArgs []string          // --build-arg NAME[=value]
	AddHosts  []string          // --add-host host:ip
}

// SupportedBuildFlags lists the docker build flags additional-build-args takes.
var SupportedBuildFlags = []string{"--ssh", "--network", "--no-cache", "--label", "--platform", "--build-arg", "--add-host"}

// ParseBuildFlags parses additional-build-args. Words split like a shell's,
// with single and double quotes; `--flag value` and `--flag=value` both work,
// and so does the original plugin's `--ssh= default`.
func ParseBuildFlags(s string) (BuildFlags, error) {
	var f BuildFlags
	words, err := splitWords(s)
	if err != nil {
		return f, Configf("additional-build-args: %v", err)
	}
	for i := 0; i < len(words); i++ {
		name, value, hasValue := strings.Cut(words[i], "=")
		if name == "--no-cache" {
			if hasValue && value != "true" && value != "false" {
				return f, Configf("additional-build-args: --no-cache takes no value, got %q", words[i])
			}
			f.NoCache = !hasValue || value == "true"
			continue
		}
		if !strings.HasPrefix(name, "-") {
			// Not shown: a stray word may be a value.
			return f, Configf("additional-build-args: word %d is not a --flag: give each flag its value (--flag value or --flag=value)", i+1)
		}
		if !slices.Contains(SupportedBuildFlags, name) {
			return f, Configf("additional-build-args: %q is not supported: use %s, or options (target, platform, build-args, secrets)",
				name, strings.Join(SupportedBuildFlags, ", "))
		}
		if (!hasValue || value == "") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "--") {
			i++
			value = words[i]
		}
		if value == "" {
			return f, Configf("additional-build-args: %s needs a value", name)
		}
		switch name {
		case "--ssh":
			f.SSH = append(f.SSH, value)
		case "--network":
			f.Network = value
		case "--label":
			k, v, _ := strings.Cut(value, "=")
			if f.Labels == nil {
				f.Labels = map[string]string{}
			}
			f.Labels[k] = v
		case "--platform":
			f.Platform = value
		case "--build-arg":
			f.BuildArgs = append(f.BuildArgs, value)
		case "--add-host":
			f.AddHosts = append(f.AddHosts, value)
		}
	}
	return f, nil
}

// canonical renders the flags in one order, for the cache key. Build-arg
// values are left out here: they enter the key as build-args.
func (f BuildFlags) canonical() string {
	var parts []string
	for _, s := range f.SSH {
		id, _, _ := strings.Cut(s, "=")
		parts = append(parts, "--ssh="+id)
	}
	if f.Network != "" {
		parts = append(parts, "--network="+f.Network)
	}
	if f.NoCache {
		parts = append(parts, "--no-cache")
	}
	keys := make([]string, 0, len(f.Labels))
	for k := range f.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, "--label="+k+"="+f.Labels[k])
	}
	for _, h := range f.AddHosts {
		parts = append(parts, "--add-host="+h)
	}
	return strings.Join(parts, " ")
}

// splitWords splits s like a POSIX shell, without expansion. Its errors
// give a position, not the text, which may hold a value.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("the single quote at character %d is not closed", i+1)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			start := i
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("the double quote at character %d is not closed", start+1)
			}
			inWord = true
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
