package frontend

import "strings"

// ShellQuote single-quotes s for sh and bash: nothing inside is expanded,
// each quote inside closes the quoting, adds an escaped quote and reopens
// it, and newlines stay as they are.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// MaxMarkdownText caps the characters MarkdownText keeps of a name.
const MaxMarkdownText = 200

var markdown = strings.NewReplacer(
	"\r", " ", "\n", " ",
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "|", `\|`, "[", `\[`, "]", `\]`,
	"#", `\#`, "~", `\~`, "&", "&amp;", "<", "&lt;", ">", "&gt;",
)

// MarkdownText makes s, a file or input name, plain text in markdown and in
// a table cell: one line, at most MaxMarkdownText characters, with markdown
// and HTML punctuation escaped.
func MarkdownText(s string) string {
	if r := []rune(s); len(r) > MaxMarkdownText {
		s = string(r[:MaxMarkdownText]) + "…"
	}
	return markdown.Replace(s)
}
