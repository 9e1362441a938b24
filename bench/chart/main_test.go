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
	var gs []group
	for _, g := range groups {
		bars, measured, err := read(filepath.Join(dir, g.name+".tsv"))
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, group{g.title, measured, bars})
	}
	out := svg(gs)
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
