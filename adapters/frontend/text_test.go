package frontend

import (
	"os/exec"
	"strings"
	"testing"
)

// Quoted values, read back by the shell, are the values.
func TestShellQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, v := range []string{"", "plain", "it's", "''", "$HOME `x` $(y)", "new\nline\n", "back\\slash", "✓ ü"} {
		out, err := exec.Command("sh", "-c", "printf %s "+ShellQuote(v)).Output()
		if err != nil || string(out) != v {
			t.Errorf("ShellQuote(%q) = %s reads back as %q (%v)", v, ShellQuote(v), out, err)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"file a|b_c.json":      `file a\|b\_c.json`,
		"cache-on *x*.json":    `cache-on \*x\*.json`,
		"<b>&`x`</b>":          "&lt;b&gt;&amp;\\`x\\`&lt;/b&gt;",
		"two\nlines\r[link]#~": `two\\nlines\\r\[link\]\#\~`,
		"esc\x1b[2J\u2028":     `esc\\x1b\[2J\\u2028`,
	} {
		if got := MarkdownText(in); got != want {
			t.Errorf("MarkdownText(%q) = %q, want %q", in, got, want)
		}
	}
	long := MarkdownText(strings.Repeat("é", 500))
	if got := len([]rune(long)); got != MaxMarkdownText+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("a long name keeps %d characters: %q", got, long)
	}
}

func TestMarkdownCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"reg/img:tag":       "`reg/img:tag`",
		"a`b\r\n### forged": "`a'b\\r\\n### forged`",
	} {
		if got := MarkdownCode(in); got != want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", in, got, want)
		}
	}
}
