package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// testStyle writes each call as a tagged line.
type testStyle struct{}

func (testStyle) Group(w io.Writer, p engine.Phase, s string) {
	fmt.Fprintf(w, "<group %s>\n", p.Title(s))
}
func (testStyle) EndGroup(w io.Writer)            { fmt.Fprintln(w, "</group>") }
func (testStyle) Warning(w io.Writer, msg string) { fmt.Fprintf(w, "<warning %s>\n", msg) }
func (testStyle) Error(w io.Writer, err error)    { fmt.Fprintf(w, "<error %v>\n", err) }
func (testStyle) Mask(w io.Writer, s string)      { fmt.Fprintf(w, "<mask %s>\n", s) }
func (testStyle) Guard(line string) string {
	if strings.HasPrefix(line, "::") {
		return "!" + line
	}
	return line
}

// One group is open at a time; an error closes it.
func TestGroups(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Phase(engine.PhaseKey, "")
	r.Infof("line %d", 1)
	r.Phase(engine.PhaseBuild, "a:b")
	r.Warnf("careful")
	r.Error(errors.New("broke"))
	r.EndGroup()
	want := "<group Computing cache key>\nline 1\n</group>\n<group Building a:b>\n<warning careful>\n</group>\n<error broke>\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("token-value-123")
	r.Mask("token-value-123") // asked once
	r.Mask("abc")             // too short to hide
	r.Infof("token-value-123 and abc")
	fmt.Fprint(r.Progress(), "progress shows token-value-123\n")
	r.Warnf("warned of token-value-123")
	r.Error(errors.New("failed with token-value-123"))
	want := "<mask token-value-123>\n*** and abc\nprogress shows ***\n<warning warned of ***>\n<error failed with ***>\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestMaskLongestFirst: a short secret inside a longer one does not leave
// the longer one's rest in the log, whatever the order they came in.
func TestMaskLongestFirst(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("hunter")
	r.Mask("hunter2-secret-value")
	r.Infof("secret MY_TOKEN = hunter2-secret-value")
	if got := lastLine(buf.String()); got != "secret MY_TOKEN = ***" {
		t.Errorf("got %q", got)
	}
}

// TestMaskAcrossWrites: a secret split over two writes of the progress
// stream is masked: a line is held until it ends, or until the group ends.
func TestMaskAcrossWrites(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("hunter2-secret-value")
	p := r.Progress()
	fmt.Fprint(p, "#5 0.1 secret MY_TOKEN = hunter2-se")
	fmt.Fprint(p, "cret-value\n#5 DONE 0.1s\nunfinished hunter2-secr")
	fmt.Fprint(p, "et-value")
	r.EndGroup()
	want := "<mask hunter2-secret-value>\n#5 0.1 secret MY_TOKEN = ***\n#5 DONE 0.1s\nunfinished ***\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

// TestMaskLongLine: a line longer than what is held back is written in
// parts, never cutting a secret in two.
func TestMaskLongLine(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-secret-value"
	for _, at := range []int{maxPartial - 10, maxPartial - 1, maxPartial, maxPartial + 5} {
		var buf bytes.Buffer
		r := New(&buf, testStyle{})
		r.Mask(secret)
		line := strings.Repeat("x", at) + secret + strings.Repeat("y", 100)
		for chunk := range slices.Chunk([]byte(line), 4096) {
			_, _ = r.Progress().Write(chunk)
		}
		r.EndGroup()
		_, out, _ := strings.Cut(buf.String(), "<mask "+secret+">\n")
		if strings.Contains(out, "hunter2") || strings.Count(out, "***") != 1 || len(out) != len(line)-len(secret)+len("***\n") {
			t.Errorf("secret at %d: not masked once", at)
		}
	}
}

// TestMaskMultiLine: a secret of several lines (a key file) is masked as a
// whole and line by line, and the CI is asked to mask each.
func TestMaskMultiLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("-----BEGIN KEY-----\r\nAAAAsecretline\r\n-----END KEY-----\n")
	fmt.Fprint(r.Progress(), "cat key\n-----BEGIN KEY-----\r\nAAAAsecretline\r\n-----END KEY-----\n")
	r.Error(errors.New("last lines:\nAAAAsecretline"))
	want := "<mask -----BEGIN KEY-----\r\nAAAAsecretline\r\n-----END KEY----->\n<mask -----BEGIN KEY----->\n<mask AAAAsecretline>\n<mask -----END KEY----->\n" +
		"cat key\n***\n***\n***\n<error last lines:\n***>\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

// TestEscape: every line the reporter prints has its control characters
// escaped, and its start guarded by the style; groups, warnings and
// progress given by Infof are one line, escaped once (a name is given
// as it is).
func TestEscape(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Phase(engine.PhaseBuild, "img\n::warning::x")
	r.Infof("file x\n::warning title=Injected::y")
	r.Infof("  %s sha256:00", "::a\\x1b\x1b\u202e")
	fmt.Fprint(r.Progress(), "#1 \x1b[31mred\r\n::add-mask::z\rw\u2028\u0085\x7f\n")
	r.Warnf("w\r\n::stop-commands::t")
	r.Error(errors.New("failed\n::error::forged\r"))
	want := "<group Building img\\n::warning::x>\n" +
		"file x\\n::warning title=Injected::y\n" +
		"  ::a\\\\x1b\\x1b\\u202e sha256:00\n" +
		"#1 \\x1b[31mred\n!::add-mask::z\\rw\\u2028\\u0085\\x7f\n" +
		"<warning w\\r\\n::stop-commands::t>\n</group>\n" +
		"<error failed\n!::error::forged>\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// Progress from several goroutines is written whole, masked.
func TestProgressConcurrent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("secret-value")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				fmt.Fprint(r.Progress(), "step secret-value done\n")
			}
		}()
	}
	wg.Wait()
	out := strings.TrimPrefix(buf.String(), "<mask secret-value>\n")
	if got := strings.Count(out, "step *** done\n"); got != 400 || len(out) != 400*len("step *** done\n") {
		t.Errorf("%d whole masked lines, want 400", got)
	}
}
