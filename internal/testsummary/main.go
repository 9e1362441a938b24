// Command testsummary reads `go test -json` and prints what `go test`
// prints without -v (a line per package, the output of failed tests), then
// one line: packages, tests, skips with their reasons, failures and time.
// scripts/test.sh runs it:
//
//	go test -json ./... | tee go.json | testsummary -progress
//	testsummary -since START -tap bats.tap <go.json
//
// -progress prints as go test does, as the events come, and no summary;
// without it only the summary line is printed, and the exit code is 1 when
// anything failed. -tap adds the TAP output of a bats run.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// tally counts tests and why they were skipped.
type tally struct {
	packages, passed, failed int
	broken                   int            // packages that failed outside a test: build, panic, timeout
	skipped                  map[string]int // reason: tests
}

func main() {
	since := flag.Int64("since", 0, "the run's start, in Unix seconds (default: now)")
	tap := flag.String("tap", "", "a bats TAP output to count as well")
	progress := flag.Bool("progress", false, "print go test's lines and failures only, no summary")
	flag.Parse()
	start := time.Now()
	if *since > 0 {
		start = time.Unix(*since, 0)
	}
	t := tally{skipped: map[string]int{}}
	w := io.Discard
	if *progress {
		w = os.Stdout
	}
	if err := t.readJSON(os.Stdin, w); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if *tap != "" {
		f, err := os.Open(*tap)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(1)
		}
		t.readTAP(f)
		f.Close()
	}
	if *progress {
		return
	}
	fmt.Println(t.line(time.Since(start)))
	if t.failed > 0 || t.broken > 0 {
		os.Exit(1)
	}
}

// readJSON tallies go test -json events, writing each package's result
// line and each failed test's output to w as they come.
func (t *tally) readJSON(r io.Reader, w io.Writer) error {
	output := map[[2]string][]string{} // package, test: output lines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event: go test's own error, printed as it is, or
			// its note of a module it downloads (a cold module cache).
			fmt.Fprintln(w, sc.Text())
			if !strings.HasPrefix(sc.Text(), "go: downloading ") {
				t.broken++
			}
			continue
		}
		k := [2]string{e.Package, e.Test}
		switch e.Action {
		case "output":
			if e.Test == "" {
				// The package's own lines: ok, FAIL, build failures, panics.
				if !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "PASS") && !strings.HasPrefix(e.Output, "FAIL\n") {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			output[k] = append(output[k], e.Output)
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action != "skip" {
					t.packages++
				}
				if e.Action == "fail" {
					t.broken++
				}
				continue
			}
			lines := output[k]
			delete(output, k)
			if strings.Contains(e.Test, "/") {
				// Subtests count with their test; a failed one's output shows.
				if e.Action == "fail" {
					fmt.Fprint(w, strings.Join(lines, ""))
				}
				continue
			}
			switch e.Action {
			case "pass":
				t.passed++
			case "fail":
				t.failed++
				fmt.Fprint(w, strings.Join(lines, ""))
			case "skip":
				t.skipped[skipReason(lines)]++
			}
		}
	}
	return sc.Err()
}

var location = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// skipReason is the message a skipped test gave, without its file:line.
func skipReason(lines []string) string {
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "=== ") || strings.HasPrefix(strings.TrimSpace(l), "--- ") {
			continue
		}
		if location.MatchString(l) {
			return strings.TrimSpace(location.ReplaceAllString(l, ""))
		}
	}
	return "no reason given"
}

var tapLine = regexp.MustCompile(`^(ok|not ok) \d+ (.*?)(?: # skip ?(.*))?$`)

// readTAP tallies a bats run's TAP lines.
func (t *tally) readTAP(r io.Reader) {
	sc := bufio.NewScanner(r)
	seen := false
	for sc.Scan() {
		m := tapLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		seen = true
		switch {
		case m[1] == "not ok":
			t.failed++
		case strings.Contains(sc.Text(), "# skip"):
			reason := m[3]
			if reason == "" {
				reason = "no reason given"
			}
			t.skipped["bats: "+reason]++
		default:
			t.passed++
		}
	}
	if seen {
		t.packages++
	}
}

// line is the one-line summary; the skip reasons, most common first, are
// cut to keep it on one screen line or two.
func (t *tally) line(d time.Duration) string {
	skips := 0
	var reasons []string
	for r, n := range t.skipped {
		skips += n
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if t.skipped[reasons[i]] != t.skipped[reasons[j]] {
			return t.skipped[reasons[i]] > t.skipped[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	status := "PASS"
	if t.failed > 0 {
		status = "FAIL"
	}
	if t.broken > 0 {
		status = "FAIL"
	}
	s := fmt.Sprintf("%s: %d packages, %d tests passed, %d failed, %d skipped", status, t.packages, t.passed, t.failed, skips)
	if skips > 0 {
		var parts []string
		for _, r := range reasons {
			n := t.skipped[r]
			if len(r) > 70 {
				r = r[:67] + "..."
			}
			parts = append(parts, strconv.Itoa(n)+"× "+r)
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s + fmt.Sprintf(", in %s", d.Round(time.Second))
}
