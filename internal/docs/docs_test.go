package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const root = "../.."

// readmeBudget is how long the front page may grow, in lines.
const readmeBudget = 200

// documents are README.md, CONTRIBUTING.md and every markdown file under docs/.
func documents(t *testing.T) []string {
	t.Helper()
	docs := []string{"README.md", "CONTRIBUTING.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			docs = append(docs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeBudget(t *testing.T) {
	t.Parallel()
	if n := strings.Count(read(t, "README.md"), "\n"); n > readmeBudget {
		t.Errorf("README.md has %d lines, more than the front page's %d: move the detail into docs/", n, readmeBudget)
	}
}

var (
	fenced = regexp.MustCompile("(?ms)^```.*?^```[ \t]*$")
	inline = regexp.MustCompile("`[^`\n]*`")
	link   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// prose is md without code blocks and code spans, where links are not links.
func prose(md string) string {
	md = fenced.ReplaceAllStringFunc(md, func(s string) string { return strings.Repeat("\n", strings.Count(s, "\n")) })
	return inline.ReplaceAllString(md, "")
}

// TestRelativeLinks: every relative link of every document names a file
// of the repository, and an anchor names a heading of that file.
func TestRelativeLinks(t *testing.T) {
	t.Parallel()
	links := 0
	for _, doc := range documents(t) {
		text := prose(read(t, doc))
		for i, line := range strings.Split(text, "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				path, anchor, _ := strings.Cut(target, "#")
				file := doc
				if path != "" {
					file = filepath.Join(filepath.Dir(doc), path)
				}
				where := doc + ":" + strconv.Itoa(i+1) + ": " + target
				if _, err := os.Stat(filepath.Join(root, file)); err != nil {
					t.Errorf("%s: no such file %s", where, file)
					continue
				}
				if anchor != "" && strings.HasSuffix(file, ".md") && !anchors(read(t, file))[anchor] {
					t.Errorf("%s: %s has no heading with the anchor #%s", where, file, anchor)
				}
			}
		}
	}
	if links < 30 {
		t.Errorf("found %d relative links, want the documents' (30 or more)", links)
	}
}

var headingJunk = regexp.MustCompile(`[^\p{L}\p{N} _-]`)

// anchors are the anchors GitHub gives a document's headings: lower case,
// punctuation dropped, spaces as -, a repeated one numbered.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(fenced.ReplaceAllString(md, ""), "\n") {
		h := strings.TrimLeft(line, "#")
		if h == line || !strings.HasPrefix(h, " ") {
			continue
		}
		a := strings.ReplaceAll(headingJunk.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestAnchors(t *testing.T) {
	t.Parallel()
	got := anchors("# Title\n## How `buildcache` refs are cleaned up\n```\n# not a heading\n```\n## Google: gcr.io and Artifact Registry\n### Errors\n### Errors\n")
	for _, want := range []string{"title", "how-buildcache-refs-are-cleaned-up", "google-gcrio-and-artifact-registry", "errors", "errors-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block is taken for a heading")
	}
}

var yamlBlock = regexp.MustCompile("(?ms)^```ya?ml[ \t]*\n(.*?)^```")

// TestYAMLBlocksParse: every yaml block of every document is YAML.
func TestYAMLBlocksParse(t *testing.T) {
	t.Parallel()
	blocks := 0
	for _, doc := range documents(t) {
		md := read(t, doc)
		for _, m := range yamlBlock.FindAllStringSubmatchIndex(md, -1) {
			blocks++
			var v any
			if err := yaml.Unmarshal([]byte(md[m[2]:m[3]]), &v); err != nil {
				t.Errorf("%s:%d: the yaml block does not parse: %v", doc, strings.Count(md[:m[0]], "\n")+1, err)
			}
		}
	}
	if blocks < 30 {
		t.Errorf("found %d yaml blocks, want the documents' (30 or more)", blocks)
	}
}
