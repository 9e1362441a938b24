package main

import (
	"encoding/pem"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/internal/azuretest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/bkpackagestest"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// BenchmarkHitHosted measures a whole hit, image on the daemon, as a
// process from start to outputs written, with a plain registry and with
// the hosted registries whose credential is exchanged on every run: ACR
// (Azure AD token, /oauth2/exchange, /oauth2/token) and Buildkite Packages
// (buildkite-agent oidc request-token). The hosted ones add only the token
// exchange: each should stay within 1.5x the plain registry. acr-system-cas
// also reads the system's CA certificates, which any HTTPS registry costs:
// it is compared with registry-https, the plain registry behind TLS, whose
// runs read them too.
func BenchmarkHitHosted(b *testing.B) {
	dockerHost := testenv.Docker(b)
	bin := testenv.Binary(b)
	plain := testenv.StartRegistry(b, testenv.RegistryOptions{})
	// The plain registry behind TLS, with a certificate the runs trust
	// (and the daemon does not check: 127.0.0.0/8 is an insecure registry).
	backend := &url.URL{Scheme: "http", Host: plain.Host}
	tlsFront := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backend)
		r.Out.Host = r.In.Host
		r.SetXForwarded() // the registry's upload locations are https:// then
	}})
	b.Cleanup(tlsFront.Close)
	tlsHost := strings.TrimPrefix(tlsFront.URL, "https://")
	tlsCert := filepath.Join(b.TempDir(), "registry.pem")
	if err := os.WriteFile(tlsCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsFront.Certificate().Raw}), 0o644); err != nil {
		b.Fatal(err)
	}
	az := azuretest.Start(b)
	bk := bkpackagestest.Start(b)
	agent := bk.Agent(b, bk.Token)
	dir := b.TempDir()
	testenv.Busybox(b, dir)
	dockerfile := "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"true\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		b.Fatal(err)
	}
	base := []string{"HOME=" + b.TempDir(), "DOCKER_HOST=" + dockerHost, "DOCKER_ECR_CACHE_ECR_NAME=build-cache/bench-hosted"}
	azure := []string{"PATH=" + os.Getenv("PATH"), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=acr", "DOCKER_ECR_CACHE_REGISTRY_HOSTNAME=" + az.RegistryHost}
	for k, v := range az.Env() {
		azure = append(azure, k+"="+v)
	}
	type provider struct {
		name, ref string
		env       []string
		times     []time.Duration
	}
	providers := []*provider{
		{name: "registry", ref: plain.Host + "/build-cache/bench-hosted",
			env: []string{"PATH=" + os.Getenv("PATH"), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry", "DOCKER_ECR_CACHE_REGISTRY=" + plain.Host + "/build-cache/bench-hosted"}},
		{name: "registry-https", ref: tlsHost + "/build-cache/bench-hosted-tls",
			env: []string{"PATH=" + os.Getenv("PATH"), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=registry", "DOCKER_ECR_CACHE_REGISTRY=" + tlsHost + "/build-cache/bench-hosted-tls",
				"SSL_CERT_FILE=" + tlsCert, "SSL_CERT_DIR=/etc/ssl/certs"}},
		{name: "acr", ref: az.RegistryHost + "/build-cache/bench-hosted", env: azure},
		// As on a real agent, the system's CA directory is read too, as it
		// is for any HTTPS registry (the plain one here is loopback HTTP).
		{name: "acr-system-cas", ref: az.RegistryHost + "/build-cache/bench-hosted", env: append(slices.Clone(azure), "SSL_CERT_DIR=/etc/ssl/certs")},
		{name: "buildkite-packages", ref: bk.Host + "/" + bkpackagestest.Org + "/" + bkpackagestest.Registry + "/build-cache/bench-hosted",
			env: []string{"PATH=" + agent + ":" + os.Getenv("PATH"), "DOCKER_ECR_CACHE_REGISTRY_PROVIDER=buildkite-packages",
				"DOCKER_ECR_CACHE_REGISTRY_HOSTNAME=" + bk.Host, "BUILDKITE_ORGANIZATION_SLUG=" + bkpackagestest.Org, "DOCKER_ECR_CACHE_BUILDKITE_REGISTRY=" + bkpackagestest.Registry}},
	}
	run := func(p *provider) string {
		cmd := exec.Command(bin)
		cmd.Dir, cmd.Env = dir, append(append([]string{}, base...), p.env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s: %v: %s\n%s", p.name, err, out, stderr.String())
		}
		return string(out)
	}
	for _, p := range providers {
		b.Cleanup(func() { googleRemoveImages(dockerHost, p.ref+":latest") })
		run(p) // the miss that builds and pushes
		out := run(p)
		if !strings.Contains(out, "CACHE_HIT=true") {
			b.Fatalf("%s: second run is not a hit:\n%s", p.name, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if tag, ok := strings.CutPrefix(line, "TAG="); ok {
				b.Cleanup(func() { googleRemoveImages(dockerHost, p.ref+":"+tag) })
			}
		}
	}
	// The providers take turns, so that a change of the machine's load
	// weighs on each alike.
	b.ResetTimer()
	for b.Loop() {
		for _, p := range providers {
			start := time.Now()
			run(p)
			p.times = append(p.times, time.Since(start))
		}
	}
	b.StopTimer()
	medians := map[string]time.Duration{}
	for _, p := range providers {
		medians[p.name] = median(p.times)
		b.ReportMetric(float64(medians[p.name].Microseconds())/1000, p.name+"-ms")
	}
	for _, p := range providers {
		base := "registry"
		if p.name == "acr-system-cas" {
			base = "registry-https"
		}
		if p.name != base && p.name != "registry-https" {
			b.ReportMetric(float64(medians[p.name])/float64(medians[base]), p.name+"/"+base)
		}
	}
}

// median is the middle of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
