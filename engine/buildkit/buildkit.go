// Package buildkit builds images on a BuildKit daemon (buildkit-host)
// through github.com/moby/buildkit/client: the daemon pushes the image
// straight to the registry, and keeps its full layer cache there.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer" // docker-container://
	_ "github.com/moby/buildkit/client/connhelper/kubepod"         // kube-pod://
	"github.com/moby/buildkit/exporter/containerimage/exptypes"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/buildsession"
)

// Builder builds on one BuildKit daemon.
type Builder struct {
	host     string
	c        *client.Client
	progress io.Writer
}

var (
	_ engine.Builder         = (*Builder)(nil)
	_ engine.PlatformBuilder = (*Builder)(nil)
)

// New makes a Builder for the daemon at host. It does not connect yet:
// the first Build does. progress receives the builds' progress, as
// `docker build --progress=plain` writes it; nil discards it.
func New(ctx context.Context, host engine.BuildKitHost, progress io.Writer) (*Builder, error) {
	if err := host.Check(); err != nil {
		return nil, &engine.ConfigError{Err: err}
	}
	if host.Addr == "" {
		return nil, engine.Configf("buildkit-host is empty: give the BuildKit daemon's address")
	}
	if err := helperProblem(host.Addr); err != nil {
		return nil, err
	}
	var opts []client.ClientOpt
	if host.TLSCA != "" || host.TLSCert != "" {
		u, _ := url.Parse(host.Addr) // Check parsed it
		if host.TLSCA != "" {
			opts = append(opts, client.WithServerConfig(u.Hostname(), host.TLSCA))
		} else { // a daemon certificate signed by a public CA
			opts = append(opts, client.WithServerConfigSystem(u.Hostname()))
		}
		if host.TLSCert != "" {
			opts = append(opts, client.WithCredentials(host.TLSCert, host.TLSKey))
		}
	}
	c, err := client.New(ctx, host.Addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to buildkit-host %s: %w", host.Addr, err)
	}
	if progress == nil {
		progress = io.Discard
	}
	return &Builder{host: host.Addr, c: c, progress: progress}, nil
}

// connectionHelpers are the commands the docker-container:// and
// kube-pod:// connection helpers run: `docker exec -i NAME buildctl
// dial-stdio` and `kubectl … exec -i POD -- buildctl dial-stdio`.
var connectionHelpers = map[string]string{"docker-container": "docker", "kube-pod": "kubectl"}

// helperProblem refuses an address whose connection helper's command is
// not on PATH, as in the action's FROM-scratch image, which has neither.
func helperProblem(addr string) error {
	u, err := url.Parse(addr)
	if err != nil {
		return nil // Check reported it
	}
	cmd, ok := connectionHelpers[u.Scheme]
	if !ok {
		return nil
	}
	if _, err := exec.LookPath(cmd); err != nil {
		return engine.Configf("buildkit-host %s connects by running `%s exec … buildctl dial-stdio`, and there is no %s on PATH "+
			"(the action's and the GitLab component's images have none): give a tcp:// or unix:// buildkit-host, "+
			"or run where %s is installed", addr, cmd, cmd, cmd)
	}
	return nil
}

// Platform is the platform the daemon builds for when none is given: its
// first worker's first, normalized as containerd does (arm is arm/v7), as
// the Docker daemon's platform is.
func (b *Builder) Platform(ctx context.Context) (string, error) {
	workers, err := b.c.ListWorkers(ctx)
	if err != nil {
		return "", fmt.Errorf("listing the workers of %s: %w", b.host, err)
	}
	for _, w := range workers {
		if len(w.Platforms) > 0 {
			return platforms.Format(platforms.Normalize(w.Platforms[0])), nil
		}
	}
	return "", fmt.Errorf("%s has no worker with a platform: set the platform option", b.host)
}

// Close ends the connection to the daemon.
func (b *Builder) Close() error { return b.c.Close() }

// Build builds spec on the daemon with its Dockerfile frontend, and the
// daemon pushes spec.Tags. The context, the Dockerfile, secrets, SSH
// agents and the registry credential (spec.Auth, for its registry only)
// are served from this process over the build's session. Layer cache comes
// from spec.CacheTo and spec.CacheFrom (refs that do not exist yet are
// skipped), and the full cache goes to spec.CacheTo.
func (b *Builder) Build(ctx context.Context, spec engine.BuildSpec) (engine.BuildResult, error) {
	if len(spec.Tags) == 0 {
		return engine.BuildResult{}, errors.New("building on a BuildKit host needs a tag to push")
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
	attachables, err := buildsession.Attachables(spec, getenv)
	if err != nil {
		return engine.BuildResult{}, err
	}
	opt := solveOpt(spec, dockerfile)
	opt.LocalMounts = dirs
	opt.Session = attachables

	p := buildsession.NewProgress(b.progress)
	ch := make(chan *client.SolveStatus)
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		for ss := range ch { // Solve closes ch when it returns
			p.Update(ss)
		}
	}()
	resp, err := b.c.Solve(ctx, nil, opt, ch)
	<-shown
	p.Close()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return engine.BuildResult{}, fmt.Errorf("building on %s: %w", b.host, err)
		}
		if strings.Contains(err.Error(), "failed to push "+spec.Tags[0]) {
			// The registry refused the image, not the Dockerfile: a
			// credential that may not push, or an immutable tag.
			err = engine.MarkRefusal(err)
		}
		return engine.BuildResult{}, fmt.Errorf("building on %s: %w", b.host, p.Explain(err))
	}
	digest := resp.ExporterResponse[exptypes.ExporterImageDigestKey]
	if digest == "" {
		return engine.BuildResult{}, fmt.Errorf("building on %s: the daemon pushed %s without reporting its digest", b.host, spec.Tags[0])
	}
	return engine.BuildResult{
		ID:     resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey],
		Digest: digest,
		Pushed: true,
	}, nil
}

// solveOpt maps spec onto the Dockerfile frontend's options, the image
// export with push, and the registry cache.
func solveOpt(spec engine.BuildSpec, dockerfile string) client.SolveOpt {
	attrs := map[string]string{"filename": dockerfile}
	if spec.Target != "" {
		attrs["target"] = spec.Target
	}
	platform := spec.Platform
	if platform == "" {
		platform = spec.Flags.Platform
	}
	if platform != "" {
		attrs["platform"] = platform
	}
	for name, value := range spec.Args() {
		if value != nil { // NAME alone: the Dockerfile's default, as the Engine API does
			attrs["build-arg:"+name] = *value
		}
	}
	for k, v := range spec.ImageLabels() {
		attrs["label:"+k] = v
	}
	if spec.Flags.NoCache {
		attrs["no-cache"] = ""
	}
	if spec.Flags.Network != "" {
		attrs["force-network-mode"] = spec.Flags.Network
	}
	if len(spec.Flags.AddHosts) > 0 {
		attrs["add-hosts"] = strings.Join(spec.Flags.AddHosts, ",")
	}

	image := map[string]string{"name": strings.Join(spec.Tags, ","), "push": "true"}
	if engine.Loopback(spec.Tags[0]) {
		image["registry.insecure"] = "true"
	}
	opt := client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: image}},
	}
	if spec.Flags.Network == "host" {
		opt.AllowedEntitlements = []string{"network.host"}
	}

	var imports []string
	if spec.CacheTo != "" {
		imports = append(imports, spec.CacheTo)
		// An OCI image manifest rather than an index: the form that ECR
		// stores too, and every other registry.
		opt.CacheExports = []client.CacheOptionsEntry{registryCache(spec.CacheTo, "mode", "max", "image-manifest", "true", "oci-mediatypes", "true")}
	}
	if !spec.Flags.NoCache {
		for _, ref := range append(imports, spec.CacheFrom...) {
			opt.CacheImports = append(opt.CacheImports, registryCache(ref))
		}
	}
	return opt
}

// registryCache is a type=registry cache entry for ref, with attrs given
// as name, value pairs.
func registryCache(ref string, attrs ...string) client.CacheOptionsEntry {
	e := client.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": ref}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = attrs[i+1]
	}
	if engine.Loopback(ref) {
		e.Attrs["registry.insecure"] = "true"
	}
	return e
}
