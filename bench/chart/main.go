// Command chart draws docs/performance.svg from the bench scripts' figures
// in bench/results/*.tsv: for each comparison, the bash plugin's (or the
// slower way's) time against docker-ecr-cache's, as bars scaled to the
// slower one, with the times and the speed-up.
//
//	go run ./bench/chart    (make chart)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// groups are the comparisons drawn, in order, and their titles.
var groups = []struct{ name, title string }{
	{"key", "Cache key of a 45,000-file monorepo (bench/key.sh)"},
	{"ecr-hit", "ECR hit, image already local (bench/ecr-hit.sh)"},
	{"action-start", "GitHub Action: step start to first log line (bench/action-start.sh)"},
}

type bar struct {
	label string
	ms    float64
}

type group struct {
	title, measured string
	bars            []bar
}

func main() {
	results := flag.String("results", "bench/results", "the directory of the bench scripts' .tsv files")
	out := flag.String("o", "docs/performance.svg", "the SVG to write")
	flag.Parse()
	chart, err := draw(*results)
	if err == nil {
		err = os.WriteFile(*out, []byte(chart), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

// draw is the chart of the results in dir.
func draw(dir string) (string, error) {
	var gs []group
	for _, g := range groups {
		bars, measured, err := read(filepath.Join(dir, g.name+".tsv"))
		if err != nil {
			return "", fmt.Errorf("%w (run bench/%s.sh)", err, g.name)
		}
		gs = append(gs, group{g.title, measured, bars})
	}
	return svg(gs), nil
}

// read parses one results file: "# machine" then "group\tlabel\tms" lines.
func read(path string) ([]bar, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	var bars []bar
	measured := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "# "); ok {
			if measured == "" {
				measured = c
			}
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, "", fmt.Errorf("%s: %q is not group, label and milliseconds", path, line)
		}
		ms, err := strconv.ParseFloat(fields[2], 64)
		if err != nil || ms <= 0 {
			return nil, "", fmt.Errorf("%s: %q: not a time in milliseconds", path, line)
		}
		bars = append(bars, bar{fields[1], ms})
	}
	if len(bars) == 0 {
		return nil, "", fmt.Errorf("%s: no figures", path)
	}
	return bars, measured, sc.Err()
}

// duration writes a time as people read it: ms under a second, else s.
func duration(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}

const (
	width    = 760
	labelW   = 170
	barMaxW  = 430
	barH     = 22
	groupGap = 34
)

func svg(gs []group) string {
	var b strings.Builder
	y := 40
	var body strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&body, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y, html.EscapeString(g.title))
		y += 10
		longest := 0.0
		for _, br := range g.bars {
			longest = max(longest, br.ms)
		}
		for i, br := range g.bars {
			w := max(2, int(float64(barMaxW)*br.ms/longest))
			color := "#9aa5b1"
			if i == len(g.bars)-1 {
				color = "#e8743b"
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW, y+16, html.EscapeString(br.label))
			fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", labelW+8, y+2, w, barH, color)
			note := duration(br.ms)
			if i == len(g.bars)-1 && len(g.bars) > 1 {
				note += fmt.Sprintf(" (%.0f× faster)", g.bars[0].ms/br.ms)
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d">%s</text>`+"\n", labelW+14+w, y+18, html.EscapeString(note))
			y += barH + 6
		}
		fmt.Fprintf(&body, `<text x="10" y="%d" font-size="11" fill="#555">%s</text>`+"\n", y+10, html.EscapeString(g.measured))
		y += groupGap
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, y, width, y)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, y)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", "The bash plugin against docker-ecr-cache (shorter is faster; bars scaled per row)")
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	return b.String()
}
