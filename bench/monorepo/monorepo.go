// Package monorepo generates the synthetic JavaScript monorepo that the
// cache-key benchmarks hash: bench/key.sh (through bench/genrepo) and
// engine/key's BenchmarkKeyMonorepo build the same tree from the same seed.
//
// The tree has TotalFiles regular files:
//
//	package.json, yarn.lock (1 MiB), Dockerfile, README.md, tsconfig.base.json
//	packages/pkg-NNNN/{package.json,README.md,tsconfig.json}
//	packages/pkg-NNNN/src/{index.ts,lib.ts,types.ts,util/helpers.ts}
//	packages/pkg-NNNN/test/index.test.ts
//	.git/{HEAD,config,description,packed-refs,objects/xx/…}
//
// PackageJSONs package.json files of about 900 bytes (the root one and one
// per package); dot-directories hold the rest, as a checkout's .git does.
package monorepo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Shape of the tree.
const (
	TotalFiles    = 45000
	PackageJSONs  = 5000
	Packages      = PackageJSONs - 1 // plus the root package.json
	FilesPerPkg   = 8
	YarnLockBytes = 1 << 20
)

// CacheOn is the cache-on list the benchmarks use.
var CacheOn = []string{"**/package.json", "yarn.lock"}

// Dockerfile is the root Dockerfile's content.
const Dockerfile = `FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json yarn.lock ./
COPY packages ./packages
RUN corepack enable && yarn install --immutable
`

var rootFiles = []string{"package.json", "yarn.lock", "Dockerfile", "README.md", "tsconfig.base.json"}

var gitFixed = []string{".git/HEAD", ".git/config", ".git/description", ".git/packed-refs"}

// Stats describes a generated tree.
type Stats struct {
	Files        int
	PackageJSONs int
	Bytes        int64
}

type gen struct {
	dir   string
	rnd   *rand.Rand
	stats Stats
	buf   bytes.Buffer
	dirs  map[string]bool
}

// Generate writes the monorepo under dir, which must be empty or absent.
// The content depends only on the seed, so every run gives the same key.
func Generate(dir string) (Stats, error) {
	g := &gen{dir: dir, rnd: rand.New(rand.NewPCG(2024, 45000)), dirs: map[string]bool{}}
	if err := g.run(); err != nil {
		return g.stats, err
	}
	if g.stats.Files != TotalFiles || g.stats.PackageJSONs != PackageJSONs {
		return g.stats, fmt.Errorf("monorepo: generated %d files and %d package.json, want %d and %d",
			g.stats.Files, g.stats.PackageJSONs, TotalFiles, PackageJSONs)
	}
	return g.stats, nil
}

func (g *gen) run() error {
	if err := g.write("package.json", g.packageJSON("monorepo-root", ".", true)); err != nil {
		return err
	}
	if err := g.write("yarn.lock", g.yarnLock()); err != nil {
		return err
	}
	if err := g.write("Dockerfile", []byte(Dockerfile)); err != nil {
		return err
	}
	if err := g.write("README.md", g.text(1500, "# Monorepo\n\n")); err != nil {
		return err
	}
	if err := g.write("tsconfig.base.json", []byte(tsconfig)); err != nil {
		return err
	}
	for i := 0; i < Packages; i++ {
		p := fmt.Sprintf("packages/pkg-%04d/", i)
		name := fmt.Sprintf("@acme/pkg-%04d", i)
		files := []struct {
			name string
			data []byte
		}{
			{"package.json", g.packageJSON(name, strings.TrimSuffix(p, "/"), false)},
			{"README.md", g.text(400+g.rnd.IntN(1200), "# "+name+"\n\n")},
			{"tsconfig.json", []byte(`{"extends":"../../tsconfig.base.json","include":["src"]}` + "\n")},
			{"src/index.ts", g.source(name, 300+g.rnd.IntN(1500))},
			{"src/lib.ts", g.source(name, 500+g.rnd.IntN(3000))},
			{"src/types.ts", g.source(name, 200+g.rnd.IntN(800))},
			{"src/util/helpers.ts", g.source(name, 200+g.rnd.IntN(1200))},
			{"test/index.test.ts", g.source(name, 300+g.rnd.IntN(1000))},
		}
		if len(files) != FilesPerPkg {
			panic("monorepo: FilesPerPkg is out of date")
		}
		for _, f := range files {
			if err := g.write(p+f.name, f.data); err != nil {
				return err
			}
		}
	}
	for _, f := range gitFixed {
		if err := g.write(f, g.text(60, "")); err != nil {
			return err
		}
	}
	objects := TotalFiles - len(rootFiles) - Packages*FilesPerPkg - len(gitFixed)
	for i := 0; i < objects; i++ {
		name := fmt.Sprintf(".git/objects/%02x/%038x", g.rnd.IntN(256), g.rnd.Uint64())
		data := make([]byte, 150+g.rnd.IntN(900))
		for j := range data {
			data[j] = byte(g.rnd.Uint32())
		}
		if err := g.write(name, data); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) write(rel string, data []byte) error {
	p := filepath.Join(g.dir, filepath.FromSlash(rel))
	if d := filepath.Dir(p); !g.dirs[d] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		g.dirs[d] = true
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	g.stats.Files++
	g.stats.Bytes += int64(len(data))
	if filepath.Base(rel) == "package.json" {
		g.stats.PackageJSONs++
	}
	return nil
}

var words = strings.Fields(`alpha build cache config data event fetch graph handler index
json kernel layer module node output parser query render schema stream token update value
worker yield zone client server request response buffer encode decode resolve`)

func (g *gen) word() string { return words[g.rnd.IntN(len(words))] }

func (g *gen) text(n int, head string) []byte {
	g.buf.Reset()
	g.buf.WriteString(head)
	for g.buf.Len() < n {
		g.buf.WriteString(g.word())
		if g.rnd.IntN(12) == 0 {
			g.buf.WriteString(".\n")
		} else {
			g.buf.WriteByte(' ')
		}
	}
	g.buf.WriteByte('\n')
	return bytes.Clone(g.buf.Bytes())
}

func (g *gen) source(pkg string, n int) []byte {
	g.buf.Reset()
	fmt.Fprintf(&g.buf, "// %s\nimport { %s } from './%s';\n\n", pkg, g.word(), g.word())
	for g.buf.Len() < n {
		fmt.Fprintf(&g.buf, "export function %s%d(%s: string): number {\n  return %s.length + %d;\n}\n\n",
			g.word(), g.rnd.IntN(1000), g.word(), g.word(), g.rnd.IntN(100))
	}
	return bytes.Clone(g.buf.Bytes())
}

func (g *gen) version() string {
	return fmt.Sprintf("%d.%d.%d", g.rnd.IntN(10), g.rnd.IntN(30), g.rnd.IntN(20))
}

// packageJSON is a package.json of about 900 bytes.
func (g *gen) packageJSON(name, dir string, private bool) []byte {
	g.buf.Reset()
	b := &g.buf
	fmt.Fprintf(b, "{\n  \"name\": %q,\n  \"version\": %q,\n", name, g.version())
	fmt.Fprintf(b, "  \"description\": \"The %s %s %s.\",\n", g.word(), g.word(), g.word())
	if private {
		b.WriteString("  \"private\": true,\n  \"workspaces\": [\"packages/*\"],\n")
	}
	fmt.Fprintf(b, "  \"repository\": {\"type\": \"git\", \"url\": \"https://github.com/acme/monorepo.git\", \"directory\": %q},\n", dir)
	b.WriteString("  \"main\": \"dist/index.js\",\n  \"types\": \"dist/index.d.ts\",\n  \"license\": \"MIT\",\n")
	b.WriteString("  \"scripts\": {\n    \"build\": \"tsc -b\",\n    \"test\": \"jest\",\n    \"lint\": \"eslint src --ext .ts\"\n  },\n")
	b.WriteString("  \"dependencies\": {\n")
	for i, n := 0, 8+g.rnd.IntN(5); i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(b, "    \"@acme/pkg-%04d\": \"^%s\"", g.rnd.IntN(Packages), g.version())
	}
	b.WriteString("\n  },\n  \"devDependencies\": {\n")
	dev := []string{"typescript", "jest", "eslint", "@types/node", "ts-jest", "prettier"}
	for i, d := range dev {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(b, "    %q: \"^%s\"", d, g.version())
	}
	b.WriteString("\n  }\n}\n")
	return bytes.Clone(b.Bytes())
}

func (g *gen) yarnLock() []byte {
	g.buf.Reset()
	b := &g.buf
	b.WriteString("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n")
	const hexdigits = "0123456789abcdef"
	for i := 0; b.Len() < YarnLockBytes; i++ {
		name := fmt.Sprintf("%s-%s-%d", g.word(), g.word(), i)
		v := g.version()
		fmt.Fprintf(b, "%s@^%s:\n  version \"%s\"\n  resolved \"https://registry.yarnpkg.com/%s/-/%s-%s.tgz#", name, v, v, name, name, v)
		for j := 0; j < 40; j++ {
			b.WriteByte(hexdigits[g.rnd.IntN(16)])
		}
		b.WriteString("\"\n  integrity sha512-")
		for j := 0; j < 86; j++ {
			b.WriteByte(hexdigits[g.rnd.IntN(16)])
		}
		b.WriteString("==\n  dependencies:\n")
		for j, n := 0, 1+g.rnd.IntN(3); j < n; j++ {
			fmt.Fprintf(b, "    %s-%s \"^%s\"\n", g.word(), g.word(), g.version())
		}
		b.WriteString("\n")
	}
	return bytes.Clone(b.Bytes()[:YarnLockBytes])
}

const tsconfig = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "strict": true,
    "declaration": true,
    "outDir": "dist"
  }
}
`
