package env

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/adapters/frontend"
)

// TestKeyEscapesErrors: the key command shows an error as run does, each
// line escaped: a jq error() message cannot drive the terminal or reorder
// what is read.
func TestKeyEscapesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": "FROM scratch\n", "p.json": `{"a":1}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	env := frontend.Env{Getenv: func(string) string { return "" }, Dir: dir, Stdout: &stdout, Stderr: &stderr}
	selector := `p.json#error("\u001b]0;pwned\u0007\u001b[2J\nerror: forged\u202e")`
	err := Key(t.Context(), []string{"--cache-on", selector}, env)
	var reported *frontend.Reported
	if err == nil || !errors.As(err, &reported) {
		t.Fatalf("Key = %v, want an error it has shown", err)
	}
	got := stderr.String()
	if strings.ContainsAny(got, "\x1b\x07\u202e") || !strings.HasPrefix(got, "error: cache-on p.json: ") {
		t.Errorf("stderr %q, want the error escaped, as run shows it", got)
	}
	for _, want := range []string{`\x1b]0;pwned\a\x1b[2J`, `forged\u202e`} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr %q lacks %q", got, want)
		}
	}
}
