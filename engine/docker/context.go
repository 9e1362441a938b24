package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// contextTar is spec's build context as a tar stream, less what its
// .dockerignore excludes, and the Dockerfile's path within it. A Dockerfile
// given inline or kept outside the context is added under a random name.
func contextTar(spec engine.BuildSpec) (io.ReadCloser, string, error) {
	dir := spec.ContextDir
	if fi, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("build context: %w", err)
	} else if !fi.IsDir() {
		return nil, "", fmt.Errorf("build context %s is not a directory", dir)
	}
	excludes, err := readIgnore(dir)
	if err != nil {
		return nil, "", err
	}

	var name string
	var content []byte
	switch {
	case spec.Dockerfile != "":
		abs, err := filepath.Abs(spec.Dockerfile)
		if err != nil {
			return nil, "", fmt.Errorf("Dockerfile %s: %w", spec.Dockerfile, err)
		}
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return nil, "", fmt.Errorf("build context %s: %w", dir, err)
		}
		if rel, err := filepath.Rel(absDir, abs); err == nil && filepath.IsLocal(rel) {
			if _, err := os.Stat(abs); err != nil {
				return nil, "", fmt.Errorf("Dockerfile: %w", err)
			}
			name = filepath.ToSlash(rel)
			excludes = keep(excludes, name)
		} else if content, err = os.ReadFile(abs); err != nil {
			return nil, "", fmt.Errorf("Dockerfile: %w", err)
		}
	case len(spec.Inline) > 0:
		content = spec.Inline
	default:
		return nil, "", errors.New("no Dockerfile: give a path or inline content")
	}
	excludes = keep(excludes, ".dockerignore")

	rc, err := archive.TarWithOptions(dir, &archive.TarOptions{
		ExcludePatterns: excludes,
		ChownOpts:       &archive.ChownOpts{UID: 0, GID: 0},
	})
	if err != nil {
		return nil, "", fmt.Errorf("archiving the build context %s: %w", dir, err)
	}
	if content == nil {
		return rc, name, nil
	}
	// As `docker build -f -` does: add the file, and list it in
	// .dockerignore so that `COPY . .` leaves it out of the image.
	name = randomName()
	now := time.Now()
	rc = archive.ReplaceFileTarWrapper(rc, map[string]archive.TarModifierFunc{
		name: func(string, *tar.Header, io.Reader) (*tar.Header, []byte, error) {
			return &tar.Header{Name: name, Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg}, content, nil
		},
		".dockerignore": func(_ string, h *tar.Header, r io.Reader) (*tar.Header, []byte, error) {
			if h == nil {
				h = &tar.Header{Name: ".dockerignore", Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg}
			}
			var b bytes.Buffer
			if r != nil {
				if _, err := io.Copy(&b, r); err != nil {
					return nil, nil, err
				}
			}
			b.WriteString("\n" + name + "\n")
			return h, b.Bytes(), nil
		},
	})
	return rc, name, nil
}

func readIgnore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return patterns, nil
}

// keep makes sure the patterns do not exclude name, which the daemon needs.
func keep(patterns []string, name string) []string {
	if excluded, _ := patternmatcher.MatchesOrParentMatches(name, patterns); excluded {
		return append(patterns, "!"+name)
	}
	return patterns
}
