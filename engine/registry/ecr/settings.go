package ecr

import (
	"regexp"
	"strings"
	"sync"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// ECR's rules for account IDs and region names, for what AWS answers,
// compiled on first use: a process start should not pay for them.
var (
	accountID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
	region    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(?:-[a-z0-9]+)+-[0-9]+$`) })
)

// settings are the options the provider uses, checked before any call.
type settings struct {
	name    string            // repository name
	account string            // ecr-account-id, or empty for the caller's
	region  string            // the region option, or empty
	host    string            // registry-hostname, or empty
	tags    map[string]string // ecr-tags, keys as written
	maxAge  int               // max-age-days
}

// settingsFrom reads c's ECR options.
func settingsFrom(c *engine.Config) settings {
	return settings{
		name:    c.RepositoryName(),
		account: strings.TrimSpace(c.ECRAccountID),
		region:  strings.TrimSpace(c.Region),
		host:    engine.StripScheme(strings.TrimSpace(c.RegistryHostname)),
		tags:    c.ECRTags,
		maxAge:  c.MaxAgeDays,
	}
}
