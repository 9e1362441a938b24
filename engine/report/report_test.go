package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

func TestMaskAndRedact(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Mask("token-value-123")
	r.Mask("token-value-123") // asked once
	r.Mask("abc")             // too short to hide
	r.Redact("build-arg-value")
	r.Redact("abc")
	r.Infof("token-value-123 and build-arg-value and abc")
	fmt.Fprint(r.Progress(), "progress shows token-value-123\n")
	r.Warnf("warned of build-arg-value")
	r.Error(errors.New("failed with token-value-123"))
	want := "<mask token-value-123>\n*** and *** and abc\nprogress shows ***\n<warning warned of ***>\n<error failed with ***>\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// Progress from several goroutines is written whole, masked.
func TestProgressConcurrent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, testStyle{})
	r.Redact("secret-value")
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
	if got := strings.Count(buf.String(), "step *** done\n"); got != 400 {
		t.Errorf("%d whole masked lines, want 400", got)
	}
}
