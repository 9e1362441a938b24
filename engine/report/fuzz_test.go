package report

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzMask: a secret never reaches the log, however the progress that
// holds it is cut into writes; and no line starts as a command of the
// style's CI.
func FuzzMask(f *testing.F) {
	f.Add("hunter2-secret-value", "#5 0.1 secret = hunter2-secret-value\n", 12, 30)
	f.Add("abcd", "abcabcdabcd\r\nabc", 3, 9)
	f.Add("tok-1", "::warning::tok-1\n::tok-1", 0, 5)
	f.Fuzz(func(t *testing.T, secret, text string, cut1, cut2 int) {
		if len(text) > 4<<10 || len(secret) < MinMask || len(secret) > 256 ||
			strings.ContainsFunc(secret, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '*' || r == '\\' }) {
			t.Skip()
		}
		cut1, cut2 = clamp(cut1, len(text)), clamp(cut2, len(text))
		cut1, cut2 = min(cut1, cut2), max(cut1, cut2)
		var buf bytes.Buffer
		r := New(&buf, testStyle{})
		r.Mask(secret)
		mask := buf.Len()
		p := r.Progress()
		for _, part := range []string{text[:cut1], text[cut1:cut2], text[cut2:]} {
			_, _ = p.Write([]byte(part))
		}
		r.Infof("%s", text)
		r.EndGroup()
		out := buf.String()[mask:]
		if strings.Contains(out, secret) {
			t.Fatalf("%q shows the secret %q", out, secret)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "::") || strings.ContainsAny(line, "\r\x1b") {
				t.Fatalf("line %q is not guarded or escaped", line)
			}
		}
	})
}

func clamp(i, n int) int {
	if i < 0 {
		i = -i
	}
	if n == 0 {
		return 0
	}
	return i % (n + 1)
}
