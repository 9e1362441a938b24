package key

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/bench/monorepo"
)

// BenchmarkKeyMonorepo computes the key of a synthetic monorepo of 45,000
// files (see package bench/monorepo): 5,000 package.json of about 900 bytes
// matched by **/package.json, and a 1 MiB yarn.lock. The tree is generated
// once per run, outside the timed loop; set BENCH_MONOREPO to the directory
// of a tree made by `go run ./bench/genrepo DIR` to reuse it.
//
//	go test ./engine/key/ -run '^$' -bench KeyMonorepo -benchmem
func BenchmarkKeyMonorepo(b *testing.B) {
	dir := os.Getenv("BENCH_MONOREPO")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "repo")
		if _, err := monorepo.Generate(dir); err != nil {
			b.Fatal(err)
		}
	}
	c := Spec{}
	c.Dir = dir
	c.Dockerfile = "Dockerfile"
	c.Platform = "linux/amd64"
	c.CacheOn = monorepo.CacheOn

	want, err := Compute(b.Context(), c, nil) // also warms the page cache
	if err != nil {
		b.Fatal(err)
	}
	if got := len(want.Inputs); got != 5+monorepo.PackageJSONs {
		b.Fatalf("key has %d inputs, want %d", got, 5+monorepo.PackageJSONs)
	}
	b.ReportAllocs()
	for b.Loop() {
		k, err := Compute(b.Context(), c, nil)
		if err != nil {
			b.Fatal(err)
		}
		if k.Tag != want.Tag {
			b.Fatalf("key changed between runs: %s, then %s", want.Tag, k.Tag)
		}
	}
	b.ReportMetric(float64(monorepo.PackageJSONs+1), "files/op")
}

// BenchmarkDecodeJSON compares the key's JSON parser with json.Unmarshal
// on a lock-file-like document of about 1 MiB.
//
//	go test ./engine/key/ -run '^$' -bench DecodeJSON -benchmem
func BenchmarkDecodeJSON(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString(`{"name":"root","lockfileVersion":3,"packages":{`)
	for i := 0; doc.Len() < 1<<20; i++ {
		if i > 0 {
			doc.WriteByte(',')
		}
		fmt.Fprintf(&doc, `"node_modules/p%d":{"version":"%d.%d.%d","resolved":"https://registry.npmjs.org/p%d/-/p%d-1.0.0.tgz","integrity":"sha512-%064x","dev":%v,"dependencies":{"a":"^1.0.0","b":"~2.%d"}}`,
			i, i%7, i%13, i%100, i, i, i, i%2 == 0, i%9)
	}
	doc.WriteString("}}")
	b.Run("decodeJSON", func(b *testing.B) {
		b.SetBytes(int64(doc.Len()))
		for b.Loop() {
			if _, err := decodeJSON(doc.Bytes(), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(doc.Len()))
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc.Bytes(), &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
