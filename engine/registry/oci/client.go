// Package oci reads any OCI or Docker registry through go-containerregistry,
// and is the registry provider for registry-provider: registry.
package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/retry"
)

// Client reads manifests and image configs. Its transport retries by Retry
// and logs each retry with Log; go-containerregistry's own retries are
// turned off, so that tries are not multiplied and Retry-After is honoured.
// Each of Lookup and Labels is one step, whose requests share one budget
// of tries and one deadline (retry.Phase).
type Client struct {
	Retry     retry.Policy
	Transport http.RoundTripper // nil: a transport with bounded waits
	Log       retry.Logf
}

// NewClient returns a client with the default retry policy, logging
// retries as warnings to log (engine.Discard for none).
func NewClient(log engine.Reporter) *Client {
	return &Client{Retry: retry.Default, Log: log.Warnf}
}

// baseTransport bounds the connection and the wait for an answer.
var baseTransport http.RoundTripper = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	t.TLSHandshakeTimeout = 15 * time.Second
	return t
}()

func (c *Client) options(ctx context.Context, auth engine.Auth) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(Authenticator(auth)),
		remote.WithTransport(c.RoundTripper()),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithUserAgent("docker-ecr-cache"),
	}
}

// tlsOnly refuses plain HTTP to any host but a loopback one: the registry
// client would try it for private addresses too, which the Docker daemon
// does not allow either. It also refuses a registry's token realm that
// would receive the credential in clear (see checkRealm).
type tlsOnly struct{ inner http.RoundTripper }

func (t tlsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !engine.Loopback(req.URL.Host) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: only loopback registries are spoken to without TLS", req.URL.Host)
	}
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if err := checkRealm(req.URL, resp.Header.Values("WWW-Authenticate")); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// checkRealm refuses a bearer challenge whose token realm is not https,
// unless the registry and the realm are both plain HTTP on loopback:
// go-containerregistry sends the basic credential to the realm to get a
// token, so an http:// realm would carry the password in clear, and an
// https registry naming one is either misconfigured or tampered with. It
// also refuses, as go-containerregistry does but with a message that says
// what to do, a realm at a loopback, private or link-local IP address
// other than the registry's own host and port (a loopback token service
// on another port is named localhost). The refusal is an error, not a
// fall-back to anonymous access.
func checkRealm(registry *url.URL, challenges []string) error {
	for _, c := range challenges {
		scheme, params, _ := strings.Cut(strings.TrimSpace(c), " ")
		if !strings.EqualFold(scheme, "bearer") {
			continue
		}
		raw, ok := challengeParam(params, "realm")
		if !ok {
			continue
		}
		realm, err := url.Parse(raw)
		switch {
		case err != nil || realm.Host == "":
			return fmt.Errorf("registry %s names the token realm %q, which is not a URL: refusing to send it credentials", registry.Host, raw)
		case realm.Host != registry.Host && privateIP(realm.Hostname()):
			return fmt.Errorf("registry %s://%s names the token realm %s://%s%s, at a loopback, private or link-local IP address "+
				"on another host or port, which go-containerregistry refuses: use the registry's own host and port, or localhost; "+
				"fix the registry's token service", registry.Scheme, registry.Host, realm.Scheme, realm.Host, realm.Path)
		case realm.Scheme == "https":
		case realm.Scheme == "http" && registry.Scheme == "http" && engine.Loopback(realm.Host):
		default:
			return fmt.Errorf("registry %s://%s names the token realm %s://%s%s: refusing to send credentials to a realm without TLS "+
				"(only a loopback registry may use a loopback http:// realm); fix the registry's token service", registry.Scheme, registry.Host, realm.Scheme, realm.Host, realm.Path)
		}
	}
	return nil
}

// privateIP reports whether host is an IP address on loopback, in a
// private range, link-local or unspecified.
func privateIP(host string) bool {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()
}

// challengeParam returns the value of name in a challenge's parameters,
// name="value" or name=value, comma separated.
func challengeParam(params, name string) (string, bool) {
	for params != "" {
		params = strings.TrimLeft(params, " ,")
		key, rest, ok := strings.Cut(params, "=")
		if !ok {
			return "", false
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return "", false
			}
			value, params = rest[1:1+end], rest[2+end:]
		} else {
			value, params, _ = strings.Cut(rest, ",")
		}
		if strings.EqualFold(strings.TrimSpace(key), name) {
			return strings.TrimSpace(value), true
		}
	}
	return "", false
}

// Lookup returns the digest of repo:tag, where repo is host[:port]/path,
// with one manifest HEAD (after the registry's API check and token
// exchange). A missing tag or repository is engine.ErrNotFound; anything
// else, a refused credential included, is an error carrying the registry's
// code and message.
func (c *Client) Lookup(ctx context.Context, repo, tag string, auth engine.Auth) (string, error) {
	ref, err := Reference(repo, tag)
	if err != nil {
		return "", err
	}
	ctx = retry.Phase(ctx, c.Retry)
	desc, err := remote.Head(ref, c.options(ctx, auth)...)
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", ref, c.explain(ctx, ref, auth, err))
	}
	return desc.Digest.String(), nil
}

// Labels returns the labels in the config of repo:tag's image, choosing
// the linux image of this machine's architecture from an index.
func (c *Client) Labels(ctx context.Context, repo, tag string, auth engine.Auth) (map[string]string, error) {
	ref, err := Reference(repo, tag)
	if err != nil {
		return nil, err
	}
	ctx = retry.Phase(ctx, c.Retry)
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	img, err := remote.Image(ref, append(c.options(ctx, auth), remote.WithPlatform(platform))...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, c.explain(ctx, ref, auth, err))
	}
	cfg, err := ConfigFile(img)
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s: %w", ref, err)
	}
	return cfg.Config.Labels, nil
}

// MaxConfigSize bounds the image config read from a registry. A config is
// a few KiB (this cache's labels are at most 64 KiB): one that declares
// more is refused rather than read into memory.
const MaxConfigSize = 8 << 20

// ErrConfigTooLarge is ConfigFile's refusal of a config over MaxConfigSize.
var ErrConfigTooLarge = errors.New("no image of this cache's making")

// ConfigFile reads img's config, refusing one whose manifest declares
// more than MaxConfigSize bytes. go-containerregistry reads no more than
// the declared size, so a registry that streams more is cut there.
func ConfigFile(img v1.Image) (*v1.ConfigFile, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.Size > MaxConfigSize {
		return nil, fmt.Errorf("its manifest declares a config of %d bytes, over the %d this tool reads: %w", m.Config.Size, MaxConfigSize, ErrConfigTooLarge)
	}
	return img.ConfigFile()
}

// Tags lists repo's tags, every page of them. A missing repository has
// none.
func (c *Client) Tags(ctx context.Context, repo string, auth engine.Auth) ([]string, error) {
	ref, err := Reference(repo, "latest")
	if err != nil {
		return nil, err
	}
	ctx = retry.Phase(ctx, c.Retry)
	tags, err := remote.List(ref.Context(), c.options(ctx, auth)...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	return tags, nil
}

// explain turns a missing manifest or repository into engine.ErrNotFound.
// A HEAD answer has no body, so for any other refusal one GET fetches the
// registry's own code and message (DENIED: …) for the user.
func (c *Client) explain(ctx context.Context, ref name.Reference, auth engine.Auth, err error) error {
	if NotFound(err) {
		return engine.ErrNotFound
	}
	var te *transport.Error
	if errors.As(err, &te) && len(te.Errors) == 0 && te.Request != nil && te.Request.Method == http.MethodHead && te.StatusCode < 500 {
		if _, gerr := remote.Get(ref, c.options(ctx, auth)...); gerr != nil {
			var ge *transport.Error
			if errors.As(gerr, &ge) && ge.StatusCode == te.StatusCode && len(ge.Errors) > 0 {
				return gerr
			}
		}
	}
	return err
}

// NotFound reports whether err is a registry's answer that a manifest or
// repository does not exist: HTTP 404 for a manifest, MANIFEST_UNKNOWN or
// NAME_UNKNOWN. A 404 from elsewhere (no registry API at all) is not.
func NotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return te.StatusCode == http.StatusNotFound && te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")
}

// Denied reports whether err holds the registry's refusal of the
// credential (HTTP 401 or 403), and its status, so that a provider can
// name its own fixes.
func Denied(err error) (status int, ok bool) {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return te.StatusCode, true
	}
	return 0, false
}

// Reference parses repo:tag. A loopback registry is spoken to over plain
// HTTP, as the Docker daemon allows; every other one over HTTPS.
func Reference(repo, tag string) (name.Reference, error) {
	var opts []name.Option
	if host, _, _ := strings.Cut(repo, "/"); engine.Loopback(host) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(repo+":"+tag, opts...)
	if err != nil {
		return nil, fmt.Errorf("image name %s:%s: %w", repo, tag, err)
	}
	return ref, nil
}

// Authenticator is auth as go-containerregistry takes it: an empty one
// is anonymous.
func Authenticator(auth engine.Auth) authn.Authenticator {
	if auth.Username == "" && auth.Password == "" && auth.IdentityToken == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: auth.Username, Password: auth.Password, IdentityToken: auth.IdentityToken})
}

// Options are the remote options of c's requests with auth, for callers
// that use go-containerregistry directly: retries, the TLS rules, the
// user agent.
func (c *Client) Options(ctx context.Context, auth engine.Auth) []remote.Option {
	return c.options(ctx, auth)
}

// RoundTripper is c's transport below the registry's authentication:
// retries and the TLS rules.
func (c *Client) RoundTripper() http.RoundTripper {
	inner := c.Transport
	if inner == nil {
		inner = baseTransport
	}
	return c.Retry.Transport(tlsOnly{inner}, c.Log)
}
