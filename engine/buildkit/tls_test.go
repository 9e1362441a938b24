package buildkit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/internal/testenv"
)

// TestTLS builds on a daemon that serves mutual TLS: the client checks the
// daemon's certificate against buildkit-tls-ca and shows its own
// (buildkit-tls-cert, -key). Without a client certificate the daemon
// refuses the build.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, caKey := certificate(t, dir, "ca", nil, nil)
	certificate(t, dir, "server", ca, caKey)
	certificate(t, dir, "client", ca, caKey)
	pemFile := func(name string) string { return filepath.Join(dir, name) }
	d := testenv.StartBuildKitd(t, "",
		"--tlscacert", pemFile("ca.pem"), "--tlscert", pemFile("server.pem"), "--tlskey", pemFile("server-key.pem"))
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ctxDir := buildContext(t, "FROM scratch\nCOPY busybox /bin/busybox\n")
	spec := engine.BuildSpec{
		ContextDir: ctxDir, Dockerfile: filepath.Join(ctxDir, "Dockerfile"),
		Tags: []string{reg.Host + "/tls-" + random(t) + ":key"},
	}

	host := engine.BuildKitHost{Addr: d.Addr, TLSCA: pemFile("ca.pem"), TLSCert: pemFile("client.pem"), TLSKey: pemFile("client-key.pem")}
	b, err := New(testContext(t), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if res, err := b.Build(testContext(t), spec); err != nil || !res.Pushed {
		t.Fatalf("build over TLS: %+v, %v", res, err)
	}

	host.TLSCert, host.TLSKey = "", ""
	anon, err := New(testContext(t), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	ctx, cancel := context.WithTimeout(testContext(t), 20*time.Second)
	defer cancel()
	// The refusal shows as "tls: certificate required", or as a broken
	// pipe when TLS 1.3 sends it after the client has started writing.
	if _, err := anon.Build(ctx, spec); err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Errorf("build without a client certificate: %v, want the daemon's refusal", err)
	}
}

// certificate writes NAME.pem and NAME-key.pem to dir: a CA when parent is
// nil, else a certificate for 127.0.0.1 signed by parent.
func certificate(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "docker-ecr-cache test " + name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage, tmpl.IPAddresses = nil, nil
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name+".pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, filepath.Join(dir, name+"-key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	if err := os.Chmod(filepath.Join(dir, name+"-key.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
