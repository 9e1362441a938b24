package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is the platform the daemon builds for when none is given: the
// OS and architecture its own binary was built for, as the Engine API's
// version reports them, normalized as containerd does (an arm daemon
// builds for arm/v7).
//
// Asking costs dockerd about 10 ms (GET /version asks containerd and
// runc), as much as the rest of a hit. So the answer of a daemon on a
// local socket is remembered for as long as that socket lives: a
// restarted daemon makes a new socket, and is asked again.
func (c *Client) Platform(ctx context.Context) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	remembered := c.platformFile()
	if p := readPlatform(remembered); p != "" {
		return p, nil
	}
	v, err := c.api.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the daemon for its version: %w", err)
	}
	p, err := normalizePlatform(v.Os, v.Arch)
	if err == nil {
		writePlatform(remembered, p)
	}
	return p, err
}

// normalizePlatform is os/arch[/variant] as containerd normalizes it:
// x86_64 is amd64, aarch64 is arm64, arm is arm/v7.
func normalizePlatform(goos, arch string) (string, error) {
	if goos == "" || arch == "" {
		return "", fmt.Errorf("the daemon reports no platform (OS %q, architecture %q): set the platform option", goos, arch)
	}
	return platforms.Format(platforms.Normalize(ocispec.Platform{OS: goos, Architecture: arch})), nil
}

// platformsDir is docker-ecr-cache/platforms under the user's cache
// directory, or "" without one.
func platformsDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "docker-ecr-cache", "platforms")
}

// platformFile is where the platform of the client's daemon is remembered:
// a file named after its unix socket's path, device, inode and
// modification time. A daemon reached otherwise (tcp, ssh) is not
// remembered: "".
func (c *Client) platformFile() string {
	u, err := url.Parse(c.api.DaemonHost())
	if c.platforms == "" || err != nil || u.Scheme != "unix" {
		return ""
	}
	fi, err := os.Stat(u.Path)
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%d", u.Path, st.Dev, st.Ino, fi.ModTime().UnixNano()))
	return filepath.Join(c.platforms, hex.EncodeToString(sum[:16]))
}

// readPlatform is the platform remembered in file, or "" when there is
// none, or what is there is not a platform as normalizePlatform writes it.
func readPlatform(file string) string {
	if file == "" {
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) > 64 {
		return ""
	}
	p, err := platforms.Parse(string(b))
	if err != nil || platforms.Format(platforms.Normalize(p)) != string(b) {
		return ""
	}
	return string(b)
}

// writePlatform remembers p in file, whole or not at all; a failure only
// means the daemon is asked next time.
func writePlatform(file, p string) {
	if file == "" {
		return
	}
	dir := filepath.Dir(file)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.WriteString(p)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		_ = os.Remove(tmp.Name())
	}
}
