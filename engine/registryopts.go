package engine

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The registries' own rules for the names users write, compiled on first
// use (see lazyRegexp).
var (
	// A registry host[:port], an IPv6 address in brackets included.
	hostPort = lazyRegexp(`^[A-Za-z0-9.-]+(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$`)

	// ECR repository names, account IDs and region names.
	ecrRepoName  = lazyRegexp(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	awsAccountID = lazyRegexp(`^[0-9]{12}$`)
	awsRegion    = lazyRegexp(`^[a-z]{2}(?:-[a-z0-9]+)+-[0-9]+$`)

	// A Google Cloud project ID: 6 to 30 lower-case letters, digits and
	// hyphens, starting with a letter, not ending with a hyphen.
	gcpProjectID = lazyRegexp(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// The domain of a domain-scoped project, example.com:my-project.
	gcpProjectDomain = lazyRegexp(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$`)
	// An Artifact Registry repository ID.
	garRepositoryID = lazyRegexp(`^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	// One path component of an image name, as the distribution spec has it.
	imagePathComponent = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

// lazyRegexp compiles expr on first use: a process start should not pay
// for the expressions of options it is not given.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// StripScheme drops a leading https:// or http:// and a trailing slash
// from a registry host or repository as users write it.
func StripScheme(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://"), "/")
}

// portProblem says what is wrong with port, a port number as users wrote
// it, or "" when nothing is.
func portProblem(port string) string {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %s is not a port number: use 1 to 65535", port)
	}
	return ""
}

// hostProblem checks the host[:port] of a registry, as the Docker daemon
// will take it: a port from 1 to 65535, and no IPv6 address, which the
// daemon refuses in an image name. option and value name what users wrote.
func hostProblem(option, value, host string) error {
	if strings.HasPrefix(host, "[") {
		return fmt.Errorf("%s %q names an IPv6 address, which the Docker daemon does not take in an image name: "+
			"use a host name, for example localhost:5000, or an IPv4 address", option, value)
	}
	if _, port, ok := strings.Cut(host, ":"); ok {
		if p := portProblem(port); p != "" {
			return fmt.Errorf("%s %q: %s", option, value, p)
		}
	}
	return nil
}

// registryProblems checks registry-provider and the options of the chosen
// provider.
func (c *Config) registryProblems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if h := strings.TrimSpace(c.RegistryHostname); hasUserinfo(h) {
		// Checked first and alone: no other message may echo the password.
		add("registry-hostname %q holds a user name or password: write only the host, "+
			"and give the credential as docs/registries.md says for the provider", redactUserinfo(h))
		return errs
	}
	switch c.RegistryProvider {
	case ProviderECR:
		errs = c.ecrProblems()
	case ProviderGCR, ProviderGAR:
		errs = c.googleProblems()
	case ProviderRegistry, ProviderGHCR:
		repo := StripScheme(c.Registry)
		host, path, ok := strings.Cut(repo, "/")
		switch {
		case hasUserinfo(c.Registry):
			add("registry %q holds a user name or password: remove the part before @ and give the credential in %s and %s, "+
				"or in the Docker config", redactUserinfo(c.Registry), "DOCKER_ECR_CACHE_REGISTRY_USERNAME", "DOCKER_ECR_CACHE_REGISTRY_PASSWORD")
		case c.Registry == "" && c.RegistryProvider == ProviderGHCR:
			add("registry is required with registry-provider: ghcr outside the GitHub Action: set it to ghcr.io/OWNER/NAME, for example ghcr.io/my-org/my-repo/build-cache")
		case c.Registry == "":
			add("registry is required with registry-provider: registry: set it to host[:port]/path, for example ghcr.io/my-org/cache")
		case !ok || host == "" || path == "" || !strings.ContainsAny(host, ".:") && host != "localhost":
			add("registry %q is not host[:port]/path: write for example ghcr.io/my-org/build-cache", c.Registry)
		case strings.ToLower(path) != path:
			add("registry %q: repository paths must be lower case", c.Registry)
		case c.RegistryProvider == ProviderGHCR && !c.githubHost(host):
			add("registry %q is not on ghcr.io: registry-provider: ghcr sends the GitHub token to ghcr.io only "+
				"(or to containers.HOST on GitHub Enterprise Server); for another registry use registry-provider: registry", c.Registry)
		default:
			if err := hostProblem("registry", c.Registry, host); err != nil {
				errs = append(errs, err)
			}
		}
	case ProviderACR, ProviderBuildkite:
		errs = c.hostedProblems()
	case ProviderLocal:
		if err := c.localPrefixProblem(); err != nil {
			errs = append(errs, err)
		}
	default:
		add("registry-provider %q is not known: use one of %s%s", c.RegistryProvider,
			strings.Join(Providers, ", "), suggestion(c.RegistryProvider, Providers))
	}
	if len(errs) == 0 {
		if err := c.referenceProblem(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ecrProblems checks the options of registry-provider: ecr.
func (c *Config) ecrProblems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if name := c.RepositoryName(); len(name) < 2 || len(name) > 256 || !ecrRepoName().MatchString(name) {
		rules := "ECR names are 2 to 256 characters: lower-case letters and digits, separated by single . _ or -, with / between path parts (for example build-cache/my-org/my-pipeline)"
		if c.ECRName != "" {
			add("ecr-name %q is not a valid ECR repository name: %s", name, rules)
		} else {
			add("the default repository name %q is not a valid ECR repository name: set ecr-name; %s", name, rules)
		}
	}
	if a := strings.TrimSpace(c.ECRAccountID); a != "" && !awsAccountID().MatchString(a) {
		add("ecr-account-id %q is not an AWS account ID: write the 12 digits of the account that owns the registry, for example 123456789012", c.ECRAccountID)
	}
	if r := strings.TrimSpace(c.Region); r != "" && !awsRegion().MatchString(r) {
		add("region %q is not an AWS region name: write for example eu-west-1", c.Region)
	}
	switch h := StripScheme(strings.TrimSpace(c.RegistryHostname)); {
	case h == "":
	case !hostPort().MatchString(h):
		add("registry-hostname %q is not host[:port]: write for example 123456789012.dkr.ecr.eu-west-1.amazonaws.com", c.RegistryHostname)
	default:
		if err := hostProblem("registry-hostname", c.RegistryHostname, h); err != nil {
			errs = append(errs, err)
		}
	}
	keys := make([]string, 0, len(c.ECRTags))
	for k := range c.ECRTags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" || len(k) > 128 || len(c.ECRTags[k]) > 256 {
			add("ecr-tags entry %q: keys must be 1 to 128 characters and values at most 256", k)
		}
	}
	return errs
}

// googleProblems checks the options of registry-provider: gcr and
// artifact-registry, whose images are named
//
//	gcr:               ${registry-hostname:-gcr.io}/PROJECT/NAME
//	artifact-registry: ${registry-hostname}/PROJECT/REPOSITORY/IMAGE
func (c *Config) googleProblems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	provider := c.RegistryProvider

	projectRules := "project IDs are 6 to 30 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen " +
		"(for example my-project-123456), optionally after a domain as example.com:my-project"
	if c.GCPProject == "" {
		add("gcp-project is required with registry-provider: %s: set it to the Google Cloud project ID", provider)
	} else {
		domain, id, scoped := strings.Cut(c.GCPProject, ":")
		if !scoped {
			domain, id = "", c.GCPProject
		}
		if !gcpProjectID().MatchString(id) || scoped && !gcpProjectDomain().MatchString(domain) {
			add("gcp-project %q is not a Google Cloud project ID: %s", c.GCPProject, projectRules)
		}
	}

	switch host := StripScheme(strings.TrimSpace(c.RegistryHostname)); {
	case host == "" && provider == ProviderGAR:
		add("registry-hostname is required with registry-provider: %s: set it to the host of the repository's location, "+
			"LOCATION-docker.pkg.dev, for example europe-west1-docker.pkg.dev", provider)
	case host != "" && !hostPort().MatchString(host):
		example := "gcr.io, eu.gcr.io or europe-west1-docker.pkg.dev"
		if provider == ProviderGAR {
			example = "europe-west1-docker.pkg.dev"
		}
		add("registry-hostname %q is not host[:port]: write only the host, for example %s", c.RegistryHostname, example)
	case host != "":
		if err := hostProblem("registry-hostname", c.RegistryHostname, host); err != nil {
			errs = append(errs, err)
		}
	}

	name := c.RepositoryName()
	what := fmt.Sprintf("ecr-name %q", name)
	if c.ECRName == "" {
		what = fmt.Sprintf("the default image name %q (set ecr-name to choose another)", name)
	}
	parts := strings.Split(name, "/")
	switch {
	case slices.ContainsFunc(parts, func(p string) bool { return !imagePathComponent().MatchString(p) }):
		add("%s is not a valid image name: use lower-case letters and digits, separated by single . _ or -, "+
			"with / between path parts (for example build-cache/my-pipeline)", what)
	case provider != ProviderGAR:
	case len(parts) < 2:
		add("%s has no repository part: with registry-provider: artifact-registry, its first path part is "+
			"the Artifact Registry repository, for example build-cache/my-pipeline for the repository build-cache", what)
	case !garRepositoryID().MatchString(parts[0]):
		add("%s: its first path part %q names the Artifact Registry repository, and repository IDs are "+
			"1 to 63 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen", what, parts[0])
	}
	return errs
}

// A Buildkite organization or registry slug.
var buildkiteSlug = lazyRegexp(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// DefaultBuildkiteHost is the Buildkite Packages registry host.
const DefaultBuildkiteHost = "packages.buildkite.com"

// BuildkiteRegistryPath is the Buildkite Packages registry: its host and
// path, packages.buildkite.com/ORG/REGISTRY. The organization defaults to
// the job's BUILDKITE_ORGANIZATION_SLUG.
func (c *Config) BuildkiteRegistryPath() (host, path string) {
	host = StripScheme(strings.TrimSpace(c.RegistryHostname))
	if host == "" {
		host = DefaultBuildkiteHost
	}
	org := strings.TrimSpace(c.BuildkiteOrg)
	if org == "" {
		org = c.Env("BUILDKITE_ORGANIZATION_SLUG")
	}
	return host, org + "/" + strings.TrimSpace(c.BuildkiteRegistry)
}

// hostedProblems checks the options of registry-provider: acr and
// buildkite-packages, whose images are named
//
//	acr:                ${registry-hostname}/NAME
//	buildkite-packages: ${registry-hostname:-packages.buildkite.com}/ORG/REGISTRY/NAME
func (c *Config) hostedProblems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	host := StripScheme(strings.TrimSpace(c.RegistryHostname))
	hostErr := hostProblem("registry-hostname", c.RegistryHostname, host)
	switch {
	case host == "" && c.RegistryProvider == ProviderACR:
		add("registry-hostname is required with registry-provider: acr: set it to the registry's login server, for example myregistry.azurecr.io")
	case host != "" && !hostPort().MatchString(host):
		add("registry-hostname %q is not host[:port]: write only the host, for example myregistry.azurecr.io or packages.buildkite.com", c.RegistryHostname)
	case hostErr != nil:
		errs = append(errs, hostErr)
	case c.RegistryProvider == ProviderACR && !acrHost(host):
		add("registry-hostname %q is not an Azure Container Registry login server (NAME.azurecr.io, .azurecr.cn or .azurecr.us): "+
			"the job's Azure AD token is sent to it, so it must be one", c.RegistryHostname)
	}
	if c.RegistryProvider == ProviderBuildkite {
		_, path := c.BuildkiteRegistryPath()
		org, reg, _ := strings.Cut(path, "/")
		switch {
		case org == "":
			add("buildkite-organization is required with registry-provider: buildkite-packages outside a Buildkite job: set it to the organization's slug")
		case !buildkiteSlug().MatchString(org):
			add("buildkite-organization %q is not a Buildkite slug: use lower-case letters, digits and hyphens, as in the organization's URL", org)
		}
		switch {
		case reg == "":
			add("buildkite-registry is required with registry-provider: buildkite-packages: set it to the container registry's slug, as in packages.buildkite.com/ORG/REGISTRY")
		case !buildkiteSlug().MatchString(reg):
			add("buildkite-registry %q is not a Buildkite slug: use lower-case letters, digits and hyphens, as in packages.buildkite.com/ORG/REGISTRY", reg)
		}
	}
	name := c.RepositoryName()
	if slices.ContainsFunc(strings.Split(name, "/"), func(p string) bool { return !imagePathComponent().MatchString(p) }) {
		what := fmt.Sprintf("ecr-name %q", name)
		if c.ECRName == "" {
			what = fmt.Sprintf("the default image name %q (set ecr-name to choose another)", name)
		}
		add("%s is not a valid image name: use lower-case letters and digits, separated by single . _ or -, "+
			"with / between path parts (for example build-cache/my-pipeline)", what)
	}
	return errs
}

// acrHost reports whether host is an ACR login server, or on loopback: the
// Azure AD token, good for every registry of the tenant, goes there.
func acrHost(host string) bool {
	h := strings.ToLower(host)
	for _, suffix := range []string{".azurecr.io", ".azurecr.cn", ".azurecr.us"} {
		if strings.HasSuffix(h, suffix) && len(h) > len(suffix) {
			return true
		}
	}
	return Loopback(host)
}

// githubHost reports whether the GitHub token may go to host: ghcr.io,
// the containers host of the GitHub Enterprise Server GITHUB_SERVER_URL
// names, or loopback.
func (c *Config) githubHost(host string) bool {
	h := strings.ToLower(host)
	if h == "ghcr.io" || Loopback(host) {
		return true
	}
	server := StripScheme(strings.ToLower(c.Env("GITHUB_SERVER_URL")))
	return server != "" && server != "github.com" && h == "containers."+server
}
