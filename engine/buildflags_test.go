package engine

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBuildFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want BuildFlags
	}{
		{"", BuildFlags{}},
		{"   ", BuildFlags{}},
		{"--ssh default", BuildFlags{SSH: []string{"default"}}},
		{"--ssh=default", BuildFlags{SSH: []string{"default"}}},
		{"--ssh= default", BuildFlags{SSH: []string{"default"}}},
		{"--ssh default=/tmp/agent.sock --ssh github", BuildFlags{SSH: []string{"default=/tmp/agent.sock", "github"}}},
		{"--network host --no-cache", BuildFlags{Network: "host", NoCache: true}},
		{"--no-cache=false --network=none", BuildFlags{Network: "none"}},
		{"--no-cache=true", BuildFlags{NoCache: true}},
		{`--label "org.opencontainers.image.title=My App" --label 'team=web platform' --label=x`,
			BuildFlags{Labels: map[string]string{"org.opencontainers.image.title": "My App", "team": "web platform", "x": ""}}},
		{`--build-arg "GREETING=hello world" --build-arg NAME --build-arg=Q=a\ b`,
			BuildFlags{BuildArgs: []string{"GREETING=hello world", "NAME", "Q=a b"}}},
		{`--build-arg "QUOTE=say \"hi\""`, BuildFlags{BuildArgs: []string{`QUOTE=say "hi"`}}},
		{"--platform linux/arm64 --add-host db:10.0.0.1 --add-host=cache:10.0.0.2",
			BuildFlags{Platform: "linux/arm64", AddHosts: []string{"db:10.0.0.1", "cache:10.0.0.2"}}},
		{"\t--network\thost\n--no-cache\n", BuildFlags{Network: "host", NoCache: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBuildFlags(tt.in)
			if err != nil {
				t.Fatalf("ParseBuildFlags(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseBuildFlags(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseBuildFlagsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		wants []string
	}{
		{"--pull", append([]string{`"--pull" is not supported`}, SupportedBuildFlags...)},
		{"--network host --squash", append([]string{`"--squash" is not supported`}, SupportedBuildFlags...)},
		{"host", []string{"word 1 is not a --flag"}},
		{"--network", []string{"--network needs a value"}},
		{"--ssh= --no-cache", []string{"--ssh needs a value"}},
		{"--no-cache=yes", []string{"--no-cache takes no value"}},
		{`--label "team=web`, []string{"the double quote at character 9 is not closed"}},
		{`--label 'team=web`, []string{"the single quote at character 9 is not closed"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseBuildFlags(tt.in)
			if err == nil || !IsConfigError(err) {
				t.Fatalf("ParseBuildFlags(%q) error = %v, want a ConfigError", tt.in, err)
			}
			if !strings.HasPrefix(err.Error(), "additional-build-args: ") {
				t.Errorf("error %q does not name additional-build-args", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestBuildFlagsCanonical(t *testing.T) {
	t.Parallel()
	a, _ := ParseBuildFlags("--label b=2 --label a=1 --network host --ssh default=/x.sock")
	b, _ := ParseBuildFlags("--ssh=default=/y.sock --network=host --label a=1 --label b=2")
	if a.canonical() != b.canonical() {
		t.Errorf("canonical differs: %q vs %q", a.canonical(), b.canonical())
	}
	if want := "--ssh=default --network=host --label=a=1 --label=b=2"; a.canonical() != want {
		t.Errorf("canonical = %q, want %q", a.canonical(), want)
	}
}
