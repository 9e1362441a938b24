package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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
// paragraph separator or invisible formatting character (Unicode Cf), is
// valid UTF-8 and reads back as the original (escaping is reversible);
// printable text without a backslash is left as is.
func FuzzEscapeControl(f *testing.F) {
	for _, seed := range []string{"plain", "a\nb\r", "\x1b[31m", "\u2028\u2029\u0085\x7f", "\xff\xfe", "tab\there", "\uFFFD",
		"\u202e\u2067\ufeff\u200b", `\x1b`, `\\`, "\U000E0041"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := EscapeControl(s)
		for _, r := range got {
			if isControl(r) || r == '\n' || unicode.Is(unicode.Cf, r) {
				t.Fatalf("EscapeControl(%q) = %q keeps %U", s, got, r)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("EscapeControl(%q) = %q is not UTF-8", s, got)
		}
		if back, err := unescapeControl(got); err != nil || back != s {
			t.Fatalf("EscapeControl(%q) = %q reads back as %q, %v", s, got, back, err)
		}
		if !strings.ContainsFunc(s, func(r rune) bool { return isControl(r) || r == '\uFFFD' || r == '\\' }) && got != s {
			t.Fatalf("EscapeControl(%q) = %q changed printable text", s, got)
		}
	})
}

// TestEscapeControl: control characters, the bidi controls and the other
// invisible formatting characters (Unicode Cf) are escaped, and so is the
// backslash, so that an escape written in the text reads apart from a
// character that was escaped.
func TestEscapeControl(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain ✓ é":                      "plain ✓ é",
		"tab\tstays":                     "tab\tstays",
		"a\nb\r\x1b[2J\x07":              `a\nb\r\x1b[2J\a`,
		"\u2028\u2029\u0085":             `\u2028\u2029\u0085`,
		"bad \xff\xfe":                   `bad \xff\xfe`,
		"file\u202Egnp.js":               `file\u202egnp.js`, // Trojan Source: right-to-left override
		"if admin\u2067 {":               `if admin\u2067 {`, // right-to-left isolate
		"\u200b\u200c\u200d\u200e\u200f": `\u200b\u200c\u200d\u200e\u200f`,
		"\u202a\u202b\u202c\u202d\u202e": `\u202a\u202b\u202c\u202d\u202e`,
		"\u2066\u2067\u2068\u2069\ufeff": `\u2066\u2067\u2068\u2069\ufeff`,
		"soft\u00adhyphen tag\U000E0041": `soft\u00adhyphen tag\U000e0041`,
		`name\x1b`:                       `name\\x1b`, // four characters, not an ESC
		`C:\dir\`:                        `C:\\dir\\`,
	} {
		if got := EscapeControl(in); got != want {
			t.Errorf("EscapeControl(%q) = %q, want %q", in, got, want)
		}
		if got, err := unescapeControl(EscapeControl(in)); err != nil || got != in {
			t.Errorf("unescapeControl(EscapeControl(%q)) = %q, %v", in, got, err)
		}
	}
	if EscapeControl("name\x1b") == EscapeControl(`name\x1b`) {
		t.Error("a real ESC and the four characters \\x1b print the same")
	}
}

// unescapeControl reads text that EscapeControl wrote back into the
// original: each escape is a Go escape.
func unescapeControl(s string) (string, error) {
	var b []byte
	for s != "" {
		r, multibyte, tail, err := strconv.UnquoteChar(s, 0)
		if err != nil {
			return "", fmt.Errorf("at %q: %w", s, err)
		}
		if multibyte {
			b = utf8.AppendRune(b, r)
		} else {
			b = append(b, byte(r))
		}
		s = tail
	}
	return string(b), nil
}
