package buildsession

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/session/filesync"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Dirs are the build context and the Dockerfile's directory, served
// to the daemon over the BuildKit session, as `docker build DIR` does with
// BuildKit: the daemon asks for the files it needs, less those that the
// context's .dockerignore excludes. An inline Dockerfile is written to a
// directory of its own, which cleanup removes, so it never joins the
// context (where `COPY . .` would take it into the image).
// They are named "context" and "dockerfile", as the Dockerfile frontend
// asks for them; dockerfile is the Dockerfile's name in its directory.
// The plan made spec's paths absolute.
func Dirs(spec engine.BuildSpec) (dirs filesync.StaticDirSource, dockerfile string, cleanup func(), err error) {
	cleanup = func() {}
	if fi, err := os.Stat(spec.ContextDir); err != nil {
		return nil, "", cleanup, fmt.Errorf("build context: %w", err)
	} else if !fi.IsDir() {
		return nil, "", cleanup, fmt.Errorf("build context %s is not a directory", spec.ContextDir)
	}
	var dockerfileDir string
	switch {
	case spec.Dockerfile != "":
		if _, err := os.Stat(spec.Dockerfile); err != nil {
			return nil, "", cleanup, fmt.Errorf("reading the Dockerfile: %w", err)
		}
		dockerfileDir, dockerfile = filepath.Split(spec.Dockerfile)
	case len(spec.Inline) > 0:
		dockerfileDir, err = os.MkdirTemp("", "docker-ecr-cache-dockerfile-")
		if err != nil {
			return nil, "", cleanup, fmt.Errorf("writing the inline Dockerfile: %w", err)
		}
		cleanup = func() { os.RemoveAll(dockerfileDir) }
		dockerfile = "Dockerfile"
		if err := os.WriteFile(filepath.Join(dockerfileDir, dockerfile), spec.Inline, 0o600); err != nil {
			cleanup()
			return nil, "", func() {}, fmt.Errorf("writing the inline Dockerfile: %w", err)
		}
	default:
		return nil, "", cleanup, errors.New("no Dockerfile: give a path or inline content")
	}
	if dockerfileDir == "" {
		dockerfileDir = "."
	}

	dirs = filesync.StaticDirSource{}
	for name, dir := range map[string]string{"context": spec.ContextDir, "dockerfile": dockerfileDir} {
		dir, err := filepath.Abs(dir)
		var fs fsutil.FS
		if err == nil {
			fs, err = fsutil.NewFS(dir)
		}
		if err == nil {
			fs, err = fsutil.NewFilterFS(fs, &fsutil.FilterOpt{Map: rootOwned})
		}
		if err != nil {
			cleanup()
			return nil, "", func() {}, fmt.Errorf("reading %s: %w", dir, err)
		}
		dirs[name] = fs
	}
	return dirs, dockerfile, cleanup, nil
}

// rootOwned gives every file of the context to root, as docker build does.
func rootOwned(_ string, st *fstypes.Stat) fsutil.MapResult {
	st.Uid, st.Gid = 0, 0
	return fsutil.MapResultKeep
}
