package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildsession"
)

var _ engine.Builder = (*Client)(nil)

// Build builds spec with BuildKit; the image stays on the daemon under
// spec.Tags, for the engine to push. Progress is
// written as `docker build --progress=plain` would; a failing step's
// output is part of the returned error. A build without progress for
// c.StallBuild is stopped.
func (c *Client) Build(ctx context.Context, spec engine.BuildSpec) (engine.BuildResult, error) {
	if err := c.ready(ctx); err != nil {
		return engine.BuildResult{}, err
	}
	getenv := spec.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	dirs, dockerfile, cleanup, err := buildsession.Dirs(spec)
	if err != nil {
		return engine.BuildResult{}, err
	}
	defer cleanup()

	ref := "the image"
	if len(spec.Tags) > 0 {
		ref = spec.Tags[0]
	}
	ctx, w := watch(ctx, c.StallBuild, "build", ref)
	defer w.end()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	attachables, err := buildsession.Attachables(spec, getenv)
	if err != nil {
		return engine.BuildResult{}, err
	}
	sess, err := session.NewSession(ctx, "docker-ecr-cache")
	if err != nil {
		return engine.BuildResult{}, fmt.Errorf("starting a BuildKit session: %w", err)
	}
	defer sess.Close()
	for _, a := range append(attachables, filesync.NewFSSyncProvider(dirs)) {
		sess.Allow(a)
	}
	sessDone := make(chan error, 1)
	go func() {
		sessDone <- sess.Run(ctx, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return c.api.DialHijack(ctx, "/session", proto, meta)
		})
	}()

	resp, err := c.api.ImageBuild(ctx, nil, buildOptions(spec, dockerfile, sess.ID()))
	if err != nil {
		return engine.BuildResult{}, fmt.Errorf("starting the build: %w", w.stop(sessionErr(err, sessDone)))
	}
	defer resp.Body.Close()

	p := buildsession.NewProgress(c.progress)
	var id string
	var rest bytes.Buffer // "Successfully tagged …", shown after BuildKit's display
	err = display(w.reader(resp.Body), &rest, func(m jsonmessage.JSONMessage) {
		switch {
		case m.ID == "moby.buildkit.trace" && m.Aux != nil:
			if ss, ok := traceStatus(*m.Aux); ok {
				p.Update(ss)
			}
		case m.ID == "moby.image.id" && m.Aux != nil:
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil {
				id = aux.ID
			}
		}
	})
	p.Close()
	_, _ = c.progress.Write(rest.Bytes())
	if err != nil {
		return engine.BuildResult{}, p.Explain(w.stop(sessionErr(err, sessDone)))
	}
	if id == "" {
		return engine.BuildResult{}, fmt.Errorf("the build finished without an image ID")
	}
	return engine.BuildResult{ID: id}, nil
}

// sessionErr adds the session's own failure, if it has one, to err.
func sessionErr(err error, sessDone chan error) error {
	select {
	case serr := <-sessDone:
		if serr != nil {
			return fmt.Errorf("%w (BuildKit session: %v)", err, serr)
		}
	default:
	}
	return err
}

// buildOptions maps spec onto the Engine API's build options.
func buildOptions(spec engine.BuildSpec, dockerfile, sessionID string) build.ImageBuildOptions {
	return build.ImageBuildOptions{
		Version:       build.BuilderBuildKit,
		SessionID:     sessionID,
		RemoteContext: "client-session", // context and Dockerfile come from the session
		Dockerfile:    dockerfile,
		Target:        spec.Target,
		Platform:      spec.Platform,
		BuildArgs:     spec.Args(),
		Tags:          spec.Tags,
		Labels:        spec.ImageLabels(),
		CacheFrom:     spec.CacheFrom,
		NoCache:       spec.Flags.NoCache,
		NetworkMode:   spec.Flags.Network,
		ExtraHosts:    spec.Flags.AddHosts,
		Remove:        true,
		ForceRemove:   true,
	}
}
