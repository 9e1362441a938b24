// Command optionref writes the option reference from engine.Options:
// docs/options.md, plugin.yml's configuration properties, action.yml's
// inputs, and the GitLab component's option inputs and its job's
// DOCKER_ECR_CACHE_* variables. Run it after changing an option:
//
//	go generate ./...
//
// Its test fails when a file lists an option differently from the code:
// another name or order, another default or another description.
package main

//go:generate go run . -root ../..

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/github"
	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/gitlab"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	for _, f := range files {
		path := filepath.Join(*root, f.name)
		old, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			fail(err)
		}
		text, err := f.render(string(old))
		if err != nil {
			fail(fmt.Errorf("writing %s: %w", f.name, err))
		}
		if text == string(old) {
			continue
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "optionref: wrote %s\n", f.name)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "optionref:", err)
	os.Exit(1)
}

// files are the files this command writes, each from its previous text.
var files = []struct {
	name   string
	render func(old string) (string, error)
}{
	{"docs/options.md", func(string) (string, error) { return markdown(), nil }},
	{"plugin.yml", pluginYML},
	{"action.yml", actionYML},
	{gitlab.ComponentFile, componentYML},
}

// Notes follow an option's usage where a front end reads its kind its own way.
func actionNote(o engine.Option) string {
	switch {
	case o.Kind == engine.List:
		return " One per line."
	case o.Kind == engine.Map:
		return " A JSON object or KEY=value lines."
	case o.Name == "registry-provider":
		return " Here, with none given: ghcr, with the " + github.TokenInput + " input."
	}
	return ""
}

// actionDefaults are the action's defaults where they differ from the
// engine's: no registry-provider, so that the action picks ghcr.
var actionDefaults = map[string]string{"registry-provider": ""}

// actionOnly are the action's inputs that are no option, after the options.
var actionOnly = []struct{ name, desc, def string }{
	{github.TokenInput, "The GitHub token that reads and pushes the cache on ghcr (the default registry here), with github.actor as the user. It needs permissions: packages: write to push. Never printed.", "${{ github.token }}"},
}

func componentNote(o engine.Option) string { return gitlab.ComponentNotes[o.Name] }

// defaultIn is an option's default in a front end whose defaults differ.
func defaultIn(o engine.Option, defaults map[string]string) string {
	if d, ok := defaults[o.Name]; ok {
		return d
	}
	return o.Default()
}

var kindNames = map[engine.Kind]string{engine.String: "string", engine.List: "list", engine.Bool: "boolean", engine.Int: "integer", engine.Map: "map"}

const header = `# Options

<!-- Written by ` + "`go generate ./...`" + ` from engine.Options (engine/options.go): edit there. -->

Every front end takes the same options, with the same names and defaults:

- the generic command: ` + "`--cache-on package.json`" + ` or ` + "`DOCKER_ECR_CACHE_CACHE_ON`" + ` (upper-cased,
  ` + "`-`" + ` becomes ` + "`_`" + `; flags win; a list given in one variable is one item a line);
- Buildkite: the plugin's configuration ([plugin.yml](../plugin.yml)), lists as YAML lists or one string;
- GitHub Actions: the action's inputs ([action.yml](../action.yml)), lists one item a line,
  ` + "`ecr-tags`" + ` a JSON object or ` + "`KEY=value`" + ` lines, and no ` + "`registry-provider`" + ` default: ghcr
  ([registries.md](registries.md#github-container-registry-ghcr));
- GitLab CI/CD: the component's inputs ([templates/docker-ecr-cache.yml](../templates/docker-ecr-cache.yml)),
  lists as YAML arrays; two defaults differ there ([gitlab.md](gitlab.md#the-component)).

An unknown option or a value of the wrong kind fails with exit code 2 and a message naming the
option (and the one you probably meant). [buildkite.md](buildkite.md#examples) shows each option at
work; the registry options and ` + "`cache-key`" + ` are explained in [registries.md](registries.md), ` + "`prune`" + `,
` + "`keep-last`" + ` and ` + "`max-age-days`" + ` in [prune.md](prune.md), ` + "`buildkit-host`" + ` and the
cache options in [scaling-out.md](scaling-out.md), the stall and lock options in
[reliability.md](reliability.md), and what ` + "`build-args`" + `, ` + "`secrets`" + ` and ` + "`export-env-variable`" + ` may
reveal or refuse in [security.md](security.md).

| option | kind | default | description |
|---|---|---|---|
`

// markdown is docs/options.md.
func markdown() string {
	var b strings.Builder
	b.WriteString(header)
	for _, o := range engine.Options {
		def := ""
		if d := o.Default(); d != "" {
			def = "`" + d + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", o.Name, kindNames[o.Kind], def, mdEscape(o.Usage))
	}
	return b.String()
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `*`, `\*`, `_`, `\_`, `<`, `&lt;`, `>`, `&gt;`)
var mdUnescaper = strings.NewReplacer(`\\`, `\`, `\|`, `|`, `\*`, `*`, `\_`, `_`, `&lt;`, `<`, `&gt;`, `>`)

func mdEscape(s string) string   { return mdEscaper.Replace(s) }
func mdUnescape(s string) string { return mdUnescaper.Replace(s) }

// schemaExtra is what plugin.yml's schema says of an option beyond its kind.
var schemaExtra = map[string]string{
	"max-age-days":      "minimum: 1",
	"registry-provider": "enum: [" + strings.Join(engine.Providers, ", ") + "]",
}

// pluginYML rewrites configuration.properties of plugin.yml.
func pluginYML(old string) (string, error) {
	var b strings.Builder
	for _, o := range engine.Options {
		fmt.Fprintf(&b, "    %s:\n      description: >-\n        %s\n", o.Name, o.Usage)
		switch o.Kind {
		case engine.String:
			b.WriteString("      type: string\n")
		case engine.Bool:
			b.WriteString("      type: boolean\n")
		case engine.Int:
			b.WriteString("      type: integer\n")
		case engine.List:
			b.WriteString("      oneOf:\n        - type: string\n        - type: array\n          items:\n            type: string\n")
		case engine.Map:
			b.WriteString("      type: object\n      additionalProperties:\n        type: [string, number, boolean]\n")
		}
		if x, ok := schemaExtra[o.Name]; ok {
			fmt.Fprintf(&b, "      %s\n", x)
		}
		if d := o.Default(); d != "" {
			if o.Kind == engine.String {
				d = yamlQuote(d)
			}
			fmt.Fprintf(&b, "      default: %s\n", d)
		}
	}
	return replaceSection(old, "  properties:\n", regexp.MustCompile(`(?m)^  additionalProperties:`), b.String())
}

// actionYML rewrites the inputs of action.yml.
func actionYML(old string) (string, error) {
	var b strings.Builder
	for _, o := range engine.Options {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", o.Name, yamlQuote(o.Usage+actionNote(o)))
		if d := defaultIn(o, actionDefaults); d != "" {
			fmt.Fprintf(&b, "    default: %s\n", yamlQuote(d))
		}
	}
	for _, in := range actionOnly {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n    default: %s\n", in.name, yamlQuote(in.desc), yamlQuote(in.def))
	}
	b.WriteString("\n")
	return replaceSection(old, "inputs:\n", regexp.MustCompile(`(?m)^\S`), b.String())
}

// componentTypes are the GitLab input types of the option kinds (none: string).
var componentTypes = map[engine.Kind]string{engine.List: "array", engine.Bool: "boolean", engine.Int: "number"}

// componentYML rewrites the GitLab component's option inputs, after its
// job's own inputs, and its job's DOCKER_ECR_CACHE_* variables, after the
// job's own variable. Every input has a default, since GitLab requires an
// input that has none; lists, numbers and booleans reach their variables
// in block scalars, so that GitLab interpolates them as text.
func componentYML(old string) (string, error) {
	var in, vars strings.Builder
	for _, o := range engine.Options {
		fmt.Fprintf(&in, "    %s:\n      description: %s\n", o.Name, yamlQuote(o.Usage+componentNote(o)))
		d := defaultIn(o, gitlab.ComponentDefaults)
		switch o.Kind {
		case engine.List:
			d = "[]"
		case engine.Bool:
			if d == "" {
				d = "false"
			}
		case engine.Int:
			if d == "" {
				d = "0"
			}
		default:
			d = yamlQuote(d)
		}
		if t, ok := componentTypes[o.Kind]; ok {
			fmt.Fprintf(&in, "      type: %s\n", t)
		}
		fmt.Fprintf(&in, "      default: %s\n", d)
		v := fmt.Sprintf("$[[ inputs.%s ]]", o.Name)
		if _, ok := componentTypes[o.Kind]; ok {
			v = "|\n      " + v
		}
		fmt.Fprintf(&vars, "    DOCKER_ECR_CACHE_%s: %s\n", engine.EnvName(o.Name), v)
	}
	last := gitlab.ComponentJobInputs[len(gitlab.ComponentJobInputs)-1]
	text, err := replaceAfter(old, "    "+last+":\n", regexp.MustCompile(`(?m)^---`), in.String())
	if err != nil {
		return "", err
	}
	return replaceAfter(text, "    "+gitlab.JobVariable+": ", regexp.MustCompile(`(?m)^  \S`), vars.String())
}

// replaceAfter replaces what follows the YAML entry that starts with the
// line start (the entry's more indented lines with it), up to the first
// line that end matches, with body.
func replaceAfter(text, start string, end *regexp.Regexp, body string) (string, error) {
	i := strings.Index(text, "\n"+start)
	if i < 0 {
		return "", fmt.Errorf("no line %q", strings.TrimSpace(start))
	}
	indent := start[:len(start)-len(strings.TrimLeft(start, " "))]
	i += 1 + strings.Index(text[i+1:], "\n") + 1
	for strings.HasPrefix(text[i:], indent+" ") {
		i += strings.Index(text[i:], "\n") + 1
	}
	loc := end.FindStringIndex(text[i:])
	if loc == nil {
		return "", fmt.Errorf("nothing ends the entries after %q", strings.TrimSpace(start))
	}
	return text[:i] + body + text[i+loc[0]:], nil
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// replaceSection replaces what follows the line start, up to the first
// line that end matches, with body.
func replaceSection(text, start string, end *regexp.Regexp, body string) (string, error) {
	i := strings.Index(text, "\n"+start)
	if i < 0 {
		return "", fmt.Errorf("no line %q", strings.TrimSpace(start))
	}
	i += 1 + len(start)
	loc := end.FindStringIndex(text[i:])
	if loc == nil {
		return "", fmt.Errorf("nothing ends the section after %q", strings.TrimSpace(start))
	}
	return text[:i] + body + text[i+loc[0]:], nil
}
