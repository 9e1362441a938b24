// Command genrepo writes the synthetic monorepo of the cache-key benchmark
// (see package monorepo) into an empty or absent directory.
//
//	go run ./bench/genrepo DIR
package main

import (
	"fmt"
	"os"

	"github.com/docker-ecr-cache/docker-ecr-cache/bench/monorepo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genrepo DIR")
		os.Exit(2)
	}
	st, err := monorepo.Generate(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "genrepo:", err)
		os.Exit(1)
	}
	fmt.Printf("%d files, %d package.json, %.1f MB\n", st.Files, st.PackageJSONs, float64(st.Bytes)/1e6)
}
