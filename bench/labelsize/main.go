// Command labelsize prints, as a markdown table, the size of the inputs
// label (org.docker-ecr-cache.inputs) against the number of cache-on
// files: the per-file record of earlier versions and key.Record's.
//
//	labelsize [N]...
//
// For each N it writes N small files into a temporary checkout, spread
// over src/dNN/sub/ (a directory per 1,000 files, at least one), computes
// the key with cache-on src/**/*.txt, and measures both records.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

func main() {
	sizes := []int{10, 50, 51, 1000, 7004, 10000, 100000}
	if len(os.Args) > 1 {
		sizes = sizes[:0]
		for _, a := range os.Args[1:] {
			n, err := strconv.Atoi(a)
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "labelsize: %q is not a number of files\n", a)
				os.Exit(2)
			}
			sizes = append(sizes, n)
		}
	}
	fmt.Println("| cache-on files | directories | per-file label (before) | label now | groups |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	for _, n := range sizes {
		if err := row(n); err != nil {
			fmt.Fprintln(os.Stderr, "labelsize:", err)
			os.Exit(1)
		}
	}
}

func row(n int) error {
	dir, err := os.MkdirTemp("", "labelsize-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dirs := max(1, n/1000)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("src/d%02d/sub/f%06d.txt", i%dirs, i))
		if i < dirs {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(i)), 0o644); err != nil {
			return err
		}
	}
	k, err := key.Compute(context.Background(), key.Spec{Dir: dir, DockerfileInline: "FROM scratch\n", Platform: "linux/amd64",
		CacheOn: []string{"src/**/*.txt"}}, nil)
	if err != nil {
		return err
	}
	before, err := json.Marshal(key.PublishedInputs(k.Inputs))
	if err != nil {
		return err
	}
	now := key.Record(k)
	var rec []key.Recorded
	if err := json.Unmarshal(now, &rec); err != nil {
		return err
	}
	groups := 0
	for _, r := range rec {
		groups += len(r.Groups)
	}
	fmt.Printf("| %d | %d | %d B | %d B | %d |\n", n, dirs, len(before), len(now), groups)
	return nil
}
