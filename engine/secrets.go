package engine

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// Secret is one build secret: its ID in the Dockerfile and where its value
// comes from, an environment variable or a file.
type Secret struct {
	ID  string
	Env string
	Src string
}

// ParseSecret reads a secrets entry: NAME is id=NAME,env=NAME; an entry
// starting id= is a docker --secret value (id=…,src=… or id=…,env=…). It
// checks that the value can be had, without reading it.
func ParseSecret(s string, getenv func(string) string) (Secret, error) {
	var sec Secret
	if !strings.Contains(s, "=") {
		sec = Secret{ID: s, Env: s}
	} else {
		for _, field := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
			switch k {
			case "id":
				sec.ID = v
			case "env":
				sec.Env = v
			case "src", "source":
				sec.Src = v
			case "type":
				if v != "file" && v != "env" {
					return sec, Configf("secrets entry %q: type must be file or env", s)
				}
			default:
				return sec, Configf("secrets entry %q: unknown field %q: use NAME, or id=…,src=… or id=…,env=…", s, k)
			}
		}
	}
	switch {
	case sec.ID == "":
		return sec, Configf("secrets entry %q has no id: write NAME or id=NAME,env=VAR", s)
	case sec.Env == "" && sec.Src == "":
		sec.Env = sec.ID
	}
	if !envName().MatchString(sec.ID) && sec.Src == "" && sec.Env == sec.ID {
		return sec, Configf("secrets entry %q is not a variable name: write NAME or id=…,src=…", s)
	}
	if sec.Env != "" && getenv(sec.Env) == "" {
		return sec, Configf("secrets: %s is not set in the environment: export it before this step, or remove it from secrets", sec.Env)
	}
	return sec, nil
}

// CredentialVars are the environment variables holding credentials this
// tool may read: their values are masked like the build secrets'.
var CredentialVars = []string{"DOCKER_ECR_CACHE_REGISTRY_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"GITHUB_TOKEN", "AZURE_CLIENT_SECRET", "BUILDKITE_API_TOKEN"}

// maxSecretFile bounds what is read of a secret file to mask its value.
const maxSecretFile = 1 << 20

// SecretValues are the values to mask in the log: the build secrets', from
// the environment and from files, and the credentials' in CredentialVars.
// A secret file that cannot be read as a regular file is left to the build
// to report.
func (p *Plan) SecretValues() []string {
	var out []string
	for _, s := range p.Secrets {
		if s.Env != "" {
			out = append(out, p.Config.Env(s.Env))
		}
		if s.Src != "" {
			if b, err := readSecretFile(s.Src); err == nil {
				out = append(out, strings.TrimRight(string(b), "\r\n"))
			}
		}
	}
	for _, name := range CredentialVars {
		out = append(out, p.Config.Env(name))
	}
	return out
}

// readSecretFile reads at most maxSecretFile bytes of a regular file,
// opened without blocking so that a FIFO cannot hang the run.
func readSecretFile(name string) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return io.ReadAll(io.LimitReader(f, maxSecretFile))
}
