package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChart(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"key.tsv":          "# 2026-12-02 on 2 cores (AMD EPYC), load average 1.0\n# group\tlabel\tmilliseconds\nkey\tbash plugin\t13618\nkey\tdocker-ecr-cache\t280\n",
		"ecr-hit.tsv":      "# m\necr-hit\tbash plugin\t3100\necr-hit\tdocker-ecr-cache\t40\n",
		"action-start.tsv": "# m\naction-start\timage: Dockerfile\t111960\naction-start\tprebuilt image\t980\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := draw(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal([]byte(out), new(struct{})); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	for _, want := range []string{"13.6 s", "280 ms", "(49× faster)", "(78× faster)", "112.0 s", "(114× faster)", "load average 1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the chart has no %q:\n%s", want, out)
		}
	}
	if _, _, err := read(filepath.Join(dir, "missing.tsv")); err == nil {
		t.Error("a missing results file is no error")
	}
}

// The committed chart is the one the committed results draw: a bench
// script's new figures come with the chart redrawn (make chart).
func TestCommittedChartIsCurrent(t *testing.T) {
	want, err := draw(filepath.Join("..", "results"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "performance.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("docs/performance.svg is not what bench/results draws: run make chart")
	}
}
