package engine

import (
	"strings"
	"testing"
)

const maxFuzzInput = 4 << 10

// FuzzParseSecret: any secrets entry parses or is a configuration error
// that does not show the variable's value; a parsed one has an id and a
// source.
func FuzzParseSecret(f *testing.F) {
	for _, seed := range []string{"TOKEN", "id=npmrc,src=.npmrc", "id=a,env=B", "id=a,type=file,source=x", "id=", "a=b,c", ",,", "type=x", "1X"} {
		f.Add(seed)
	}
	const value = "fuzz-secret-value"
	getenv := func(string) string { return value }
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			t.Skip()
		}
		sec, err := ParseSecret(s, getenv)
		if err != nil {
			if !IsConfigError(err) || strings.Contains(err.Error(), value) {
				t.Fatalf("ParseSecret(%q): %v", s, err)
			}
			return
		}
		if sec.ID == "" || sec.Env == "" && sec.Src == "" {
			t.Fatalf("ParseSecret(%q) = %+v: no id or no source", s, sec)
		}
	})
}

// FuzzParseBuildFlags: any additional-build-args parses or is a
// configuration error, and parsed flags render canonically the same way
// twice (the key depends on it).
func FuzzParseBuildFlags(f *testing.F) {
	for _, seed := range []string{"", "--no-cache", "--ssh default --network=host", `--label "a=b c" --build-arg X=1`,
		"--ssh= default", "--build-arg 'TOKEN=abc def", `--label "x`, `a\ b`, "--platform linux/arm64/v8 --add-host h:1.2.3.4", "--pull"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzInput {
			t.Skip()
		}
		flags, err := ParseBuildFlags(s)
		if err != nil {
			if !IsConfigError(err) {
				t.Fatalf("ParseBuildFlags(%q): %v is not a configuration error", s, err)
			}
			return
		}
		if a, b := flags.canonical(), flags.canonical(); a != b {
			t.Fatalf("canonical differs: %q, %q", a, b)
		}
	})
}

// FuzzEscapeControl: the escaped text has no control character, line or
// paragraph separator, and is valid UTF-8; printable text is left as is.
func FuzzEscapeControl(f *testing.F) {
	for _, seed := range []string{"plain", "a\nb\r", "\x1b[31m", "\u2028\u2029\u0085\x7f", "\xff\xfe", "tab\there", "\uFFFD"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeControl(s)
		for _, r := range got {
			if isControl(r) || r == '\n' {
				t.Fatalf("EscapeControl(%q) = %q keeps %U", s, got, r)
			}
		}
		if !strings.ContainsFunc(s, func(r rune) bool { return isControl(r) || r == '\uFFFD' }) && got != s {
			t.Fatalf("EscapeControl(%q) = %q changed printable text", s, got)
		}
	})
}
