package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	events := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:12: no Docker daemon answers\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestC/sub","Output":"    c_test.go:3: got 1, want 2\n"}
{"Action":"fail","Package":"p","Test":"TestC/sub"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p"}
{"Action":"output","Package":"q","Output":"ok  \tq\t0.2s\n"}
{"Action":"pass","Package":"q"}
`
	s := tally{skipped: map[string]int{}}
	var out bytes.Buffer
	if err := s.readJSON(strings.NewReader(events), &out); err != nil {
		t.Fatal(err)
	}
	s.readTAP(strings.NewReader("1..3\nok 1 hook runs\nok 2 image # skip no dist/\nnot ok 3 broken\n"))
	if want := "    c_test.go:3: got 1, want 2\nFAIL\tp\t0.1s\nok  \tq\t0.2s\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	got := s.line(95 * time.Second)
	want := "FAIL: 3 packages, 2 tests passed, 2 failed, 2 skipped (1× bats: no dist/; 1× no Docker daemon answers), in 1m35s"
	if got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
}

// TestModuleDownloads: go test's notes of the modules it downloads (a
// cold module cache) are shown, not counted as a broken package.
func TestModuleDownloads(t *testing.T) {
	events := `go: downloading github.com/moby/sys/mount v0.3.4
{"Action":"output","Package":"q","Output":"ok  \tq\t0.2s\n"}
{"Action":"pass","Package":"q"}
# q
q/x.go:1:1: expected 'package', found 'EOF'
`
	s := tally{skipped: map[string]int{}}
	var out bytes.Buffer
	if err := s.readJSON(strings.NewReader(events), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "go: downloading github.com/moby/sys/mount v0.3.4\n") {
		t.Errorf("output %q does not show the download", out.String())
	}
	if s.broken != 2 {
		t.Errorf("broken = %d, want 2 (the build failure's lines, not the download)", s.broken)
	}
}
