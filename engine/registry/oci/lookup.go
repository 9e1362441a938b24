// Package oci talks to any OCI or Docker registry over the distribution API,
// and is the registry provider for registry-provider: registry.
package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// manifestTypes are the manifest and index media types a HEAD accepts.
var manifestTypes = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// StatusError is an unexpected registry answer.
type StatusError struct {
	Ref    string
	Status int
}

func (e *StatusError) Error() string {
	if e.denied() {
		return fmt.Sprintf("registry denied access to %s (HTTP %d): check the registry credentials; this is not taken for a cache miss", e.Ref, e.Status)
	}
	return fmt.Sprintf("registry answered HTTP %d for %s; this is not taken for a cache miss", e.Status, e.Ref)
}

// denied is a 401 or 403: the credential was refused.
func (e *StatusError) denied() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Denied reports whether err holds a *StatusError for a refused credential
// (HTTP 401 or 403), and its status, so a provider can name its own fixes.
func Denied(err error) (status int, ok bool) {
	var se *StatusError
	if errors.As(err, &se) && se.denied() {
		return se.Status, true
	}
	return 0, false
}

// Client looks up manifests with at most one request when credentials are
// known up front (basic auth), or a token exchange when the registry asks.
type Client struct {
	HTTP     *http.Client
	Attempts int           // tries for transient failures (5xx, network)
	Backoff  time.Duration // wait before the second try, doubled after
}

// DefaultClient has bounded timeouts and retries.
var DefaultClient = &Client{
	HTTP:     &http.Client{Timeout: 30 * time.Second},
	Attempts: 3,
	Backoff:  300 * time.Millisecond,
}

// Lookup returns the digest of repo:tag, where repo is host[:port]/path, or
// engine.ErrNotFound.
func (c *Client) Lookup(ctx context.Context, repo, tag string, auth engine.Auth) (string, error) {
	resp, err := c.get(ctx, http.MethodHead, repo, "manifests/"+tag, manifestTypes, auth)
	if err != nil {
		return "", fmt.Errorf("looking up %s:%s: %w", repo, tag, err)
	}
	resp.Body.Close()
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// get sends one request under /v2/<path>/, running the token flow when the
// registry asks for it and retrying transient failures. It returns the
// response only for 200; 404 is engine.ErrNotFound.
func (c *Client) get(ctx context.Context, method, repo, rest, accept string, auth engine.Auth) (*http.Response, error) {
	host, path, ok := strings.Cut(repo, "/")
	if !ok {
		return nil, fmt.Errorf("repository %q has no host: write host[:port]/path", repo)
	}
	u := BaseURL(host) + "/v2/" + path + "/" + rest
	ref := repo + ":" + strings.TrimPrefix(rest, "manifests/")

	var bearer string
	for attempt, wait := 1, c.Backoff; ; attempt, wait = attempt+1, wait*2 {
		resp, err := c.send(ctx, method, u, accept, auth, bearer)
		retry := err != nil
		if err == nil {
			switch {
			case resp.StatusCode == http.StatusOK:
				return resp, nil
			case resp.StatusCode == http.StatusNotFound:
				resp.Body.Close()
				return nil, engine.ErrNotFound
			case resp.StatusCode == http.StatusUnauthorized && bearer == "" && isBearer(resp):
				resp.Body.Close()
				if bearer, err = c.token(ctx, resp.Header.Get("WWW-Authenticate"), auth); err != nil {
					return nil, fmt.Errorf("authenticating to %s: %w", host, err)
				}
				continue
			case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
				resp.Body.Close()
				retry = true
				err = &StatusError{Ref: ref, Status: resp.StatusCode}
			default:
				resp.Body.Close()
				return nil, &StatusError{Ref: ref, Status: resp.StatusCode}
			}
		}
		if !retry || attempt >= c.Attempts || ctx.Err() != nil {
			return nil, fmt.Errorf("after %d tries: %w", attempt, unreachable(host, err))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func unreachable(host string, err error) error {
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("registry %s is unreachable: %w", host, err)
	}
	return err
}

func (c *Client) send(ctx context.Context, method, u, accept string, auth engine.Auth, bearer string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	switch {
	case bearer != "":
		req.Header.Set("Authorization", "Bearer "+bearer)
	case auth.Username != "":
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	return c.HTTP.Do(req)
}

func isBearer(resp *http.Response) bool {
	return strings.HasPrefix(strings.ToLower(resp.Header.Get("WWW-Authenticate")), "bearer ")
}

// token runs the registry token flow for a Bearer challenge.
func (c *Client) token(ctx context.Context, challenge string, auth engine.Auth) (string, error) {
	params := parseChallenge(challenge)
	realm, err := url.Parse(params["realm"])
	if err != nil || params["realm"] == "" {
		return "", fmt.Errorf("bad Bearer challenge %q", challenge)
	}
	q := realm.Query()
	for _, k := range []string{"service", "scope"} {
		if params[k] != "" {
			q.Set(k, params[k])
		}
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	if auth.Username != "" {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &StatusError{Ref: realm.Host, Status: resp.StatusCode}
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("decoding token: %w", err)
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	return body.Token, nil
}

// parseChallenge reads `Bearer realm="…",service="…",scope="…"`.
func parseChallenge(h string) map[string]string {
	out := map[string]string{}
	_, rest, _ := strings.Cut(h, " ")
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				break
			}
			out[strings.ToLower(k)] = v[1 : end+1]
			rest = v[end+2:]
		} else {
			val, next, _ := strings.Cut(v, ",")
			out[strings.ToLower(k)] = val
			rest = next
		}
	}
	return out
}

// BaseURL is the scheme and host of a registry: plain HTTP for loopback
// (as the Docker daemon allows), HTTPS for everything else.
func BaseURL(host string) string {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return "http://" + host
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "http://" + host
	}
	return "https://" + host
}
