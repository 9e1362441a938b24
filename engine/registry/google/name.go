package google

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// DefaultGCRHost is the registry host of registry-provider: gcr when
// registry-hostname is not set, as in the original plugin.
const DefaultGCRHost = "gcr.io"

var (
	// A project ID: 6 to 30 lower-case letters, digits and hyphens,
	// starting with a letter, not ending with a hyphen.
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// The domain of a domain-scoped project, example.com:my-project.
	projectDomain = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$`)
	// An Artifact Registry repository ID.
	repositoryID = regexp.MustCompile(`^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	// One path component of an image name, as the distribution spec has it.
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

// imageName checks c's Google options, every problem at once, and returns
// the registry host and the image name without a tag:
//
//	gcr:               ${registry-hostname:-gcr.io}/PROJECT/NAME
//	artifact-registry: ${registry-hostname}/PROJECT/REPOSITORY/IMAGE
//
// where NAME (REPOSITORY/IMAGE) is ecr-name or the front end's default, and
// a domain-scoped PROJECT example.com:p is written example.com/p.
func imageName(c *engine.Config) (host, repo string, err error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	provider := c.RegistryProvider
	if provider != engine.ProviderGCR && provider != engine.ProviderGAR {
		return "", "", engine.Configf("registry-provider %q is not a Google registry: use %s or %s", provider, engine.ProviderGCR, engine.ProviderGAR)
	}

	project, perr := projectPath(c.GCPProject, provider)
	if perr != nil {
		errs = append(errs, perr)
	}

	host = oci.StripScheme(strings.TrimSpace(c.RegistryHostname))
	switch {
	case host == "" && provider == engine.ProviderGCR:
		host = DefaultGCRHost
	case host == "":
		add("registry-hostname is required with registry-provider: %s: set it to the host of the repository's location, "+
			"LOCATION-docker.pkg.dev, for example europe-west1-docker.pkg.dev", provider)
	case !oci.ValidHost(host):
		example := "gcr.io, eu.gcr.io or europe-west1-docker.pkg.dev"
		if provider == engine.ProviderGAR {
			example = "europe-west1-docker.pkg.dev"
		}
		add("registry-hostname %q is not host[:port]: write only the host, for example %s", c.RegistryHostname, example)
	}

	name := c.RepositoryName()
	if nerr := checkName(name, c.ECRName != "", provider); nerr != nil {
		errs = append(errs, nerr)
	}

	if len(errs) > 0 {
		return "", "", &engine.ConfigError{Err: errors.Join(errs...)}
	}
	return host, host + "/" + project + "/" + name, nil
}

// projectPath checks gcp-project and returns it as it is written in image
// names: example.com:my-project becomes example.com/my-project.
func projectPath(project, provider string) (string, error) {
	rules := "project IDs are 6 to 30 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen " +
		"(for example my-project-123456), optionally after a domain as example.com:my-project"
	if project == "" {
		return "", fmt.Errorf("gcp-project is required with registry-provider: %s: set it to the Google Cloud project ID; %s", provider, rules)
	}
	domain, id, scoped := strings.Cut(project, ":")
	if !scoped {
		domain, id = "", project
	}
	if !projectID.MatchString(id) || scoped && !projectDomain.MatchString(domain) {
		return "", fmt.Errorf("gcp-project %q is not a Google Cloud project ID: %s", project, rules)
	}
	if scoped {
		return domain + "/" + id, nil
	}
	return id, nil
}

// checkName checks the image name; given tells whether the user wrote it
// (ecr-name) or it is the front end's default.
func checkName(name string, given bool, provider string) error {
	what := fmt.Sprintf("ecr-name %q", name)
	if !given {
		what = fmt.Sprintf("the default image name %q (set ecr-name to choose another)", name)
	}
	parts := strings.Split(name, "/")
	for _, p := range parts {
		if !pathComponent.MatchString(p) {
			return fmt.Errorf("%s is not a valid image name: use lower-case letters and digits, separated by single . _ or -, "+
				"with / between path parts (for example build-cache/my-pipeline)", what)
		}
	}
	if provider != engine.ProviderGAR {
		return nil
	}
	if len(parts) < 2 {
		return fmt.Errorf("%s has no repository part: with registry-provider: artifact-registry, its first path part is "+
			"the Artifact Registry repository, for example build-cache/my-pipeline for the repository build-cache", what)
	}
	if !repositoryID.MatchString(parts[0]) {
		return fmt.Errorf("%s: its first path part %q names the Artifact Registry repository, and repository IDs are "+
			"1 to 63 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen", what, parts[0])
	}
	return nil
}
