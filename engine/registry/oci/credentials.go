package oci

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// Credentials finds the credential for host: the environment variables
// DOCKER_ECR_CACHE_REGISTRY_USERNAME and _PASSWORD first, then the Docker
// config's credential helpers and stored auths. It reads, never writes.
// No credential is not an error: the registry may allow anonymous access.
func Credentials(ctx context.Context, host string, getenv func(string) string) (engine.Auth, error) {
	auth := engine.Auth{Server: host}
	if u, p := getenv("DOCKER_ECR_CACHE_REGISTRY_USERNAME"), getenv("DOCKER_ECR_CACHE_REGISTRY_PASSWORD"); u != "" || p != "" {
		if u == "" || p == "" {
			return auth, engine.Configf("set both DOCKER_ECR_CACHE_REGISTRY_USERNAME and DOCKER_ECR_CACHE_REGISTRY_PASSWORD, or neither")
		}
		auth.Username, auth.Password = u, p
		return auth, nil
	}
	cfg, err := readDockerConfig(getenv)
	if err != nil {
		return auth, err
	}
	helper := cfg.CredHelpers[host]
	if helper == "" {
		helper = cfg.CredsStore
	}
	if helper != "" {
		u, p, err := fromHelper(ctx, helper, host)
		if err != nil {
			return auth, err
		}
		if u != "" || p != "" {
			auth.Username, auth.Password = u, p
			return auth, nil
		}
	}
	for _, key := range []string{host, "https://" + host, "http://" + host} {
		if a, ok := cfg.Auths[key]; ok && a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return auth, fmt.Errorf("reading docker config auth for %s: %w", host, err)
			}
			auth.Username, auth.Password, _ = strings.Cut(string(raw), ":")
			return auth, nil
		}
	}
	return auth, nil
}

type dockerConfig struct {
	Auths       map[string]struct{ Auth string } `json:"auths"`
	CredsStore  string                           `json:"credsStore"`
	CredHelpers map[string]string                `json:"credHelpers"`
}

func readDockerConfig(getenv func(string) string) (dockerConfig, error) {
	var cfg dockerConfig
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return cfg, nil
		}
		dir = filepath.Join(home, ".docker")
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if os.IsNotExist(err) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading docker config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("reading docker config %s: %w", filepath.Join(dir, "config.json"), err)
	}
	return cfg, nil
}

// fromHelper runs docker-credential-<helper> get, as the Docker CLI does.
func fromHelper(ctx context.Context, helper, host string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-credential-"+helper, "get")
	cmd.Stdin = strings.NewReader(host)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(string(out)+stderr.String(), "credentials not found") {
			return "", "", nil
		}
		return "", "", fmt.Errorf("running docker-credential-%s for %s: %w", helper, host, err)
	}
	var c struct{ Username, Secret string }
	if err := json.Unmarshal(out, &c); err != nil {
		return "", "", fmt.Errorf("reading docker-credential-%s output: %w", helper, err)
	}
	return c.Username, c.Secret, nil
}
