package google

import (
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// DefaultGCRHost is the registry host of registry-provider: gcr when
// registry-hostname is not set, as in the original plugin.
const DefaultGCRHost = "gcr.io"

// imageName returns the registry host and the image name without a tag:
//
//	gcr:               ${registry-hostname:-gcr.io}/PROJECT/NAME
//	artifact-registry: ${registry-hostname}/PROJECT/REPOSITORY/IMAGE
//
// where NAME (REPOSITORY/IMAGE) is ecr-name or the front end's default, and
// a domain-scoped PROJECT example.com:p is written example.com/p.
func imageName(c *engine.Config) (host, repo string) {
	host = engine.StripScheme(strings.TrimSpace(c.RegistryHostname))
	if host == "" {
		host = DefaultGCRHost
	}
	project := strings.Replace(c.GCPProject, ":", "/", 1)
	return host, host + "/" + project + "/" + c.RepositoryName()
}
