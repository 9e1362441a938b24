package frontend

import (
	"strings"
	"unicode"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// ShellQuote single-quotes s for sh and bash: nothing inside is expanded,
// each quote inside closes the quoting, adds an escaped quote and reopens
// it, and newlines stay as they are.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// MaxMarkdownText caps the characters MarkdownText keeps of a name.
const MaxMarkdownText = 200

var markdown = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "|", `\|`, "[", `\[`, "]", `\]`,
	"#", `\#`, "~", `\~`, "&", "&amp;", "<", "&lt;", ">", "&gt;",
)

// MarkdownText makes s, a file or input name, plain text in markdown and in
// a table cell: one line, at most MaxMarkdownText characters, with control
// characters (line breaks included) escaped as engine.EscapeControl does,
// and markdown and HTML punctuation escaped.
func MarkdownText(s string) string {
	if r := []rune(s); len(r) > MaxMarkdownText {
		s = string(r[:MaxMarkdownText]) + "…"
	}
	return markdown.Replace(engine.EscapeControl(s))
}

// MarkdownCode is s, an image reference or a digest, as inline code: one
// line, control characters escaped, backticks (which would end the code)
// as quotes.
func MarkdownCode(s string) string {
	return "`" + strings.ReplaceAll(engine.EscapeControl(s), "`", "'") + "`"
}

// Guarded is line written after a zero-width space when its text, after
// leading white space, starts with one of markers: a CI then does not read
// it as one of its own commands, and it reads the same.
func Guarded(line string, markers ...string) string {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	for _, m := range markers {
		if strings.HasPrefix(t, m) {
			return "\u200b" + line
		}
	}
	return line
}
