package ecr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
	"github.com/docker-ecr-cache/docker-ecr-cache/engine/registry/oci"
)

// ECR's own rules for repository names, account IDs and region names.
var (
	repoName  = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	region    = regexp.MustCompile(`^[a-z]{2}(?:-[a-z0-9]+)+-[0-9]+$`)
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

// settingsFrom validates c's ECR options, naming each option at fault.
func settingsFrom(c *engine.Config) (settings, error) {
	s := settings{
		name:    c.RepositoryName(),
		account: strings.TrimSpace(c.ECRAccountID),
		region:  strings.TrimSpace(c.Region),
		host:    oci.StripScheme(strings.TrimSpace(c.RegistryHostname)),
		tags:    c.ECRTags,
		maxAge:  c.MaxAgeDays,
	}
	var errs []error
	if err := validName(s.name, c.ECRName != ""); err != nil {
		errs = append(errs, err)
	}
	if s.account != "" && !accountID.MatchString(s.account) {
		errs = append(errs, fmt.Errorf("ecr-account-id %q is not an AWS account ID: write the 12 digits of the account that owns the registry, for example 123456789012", c.ECRAccountID))
	}
	if s.region != "" && !region.MatchString(s.region) {
		errs = append(errs, fmt.Errorf("region %q is not an AWS region name: write for example eu-west-1", c.Region))
	}
	if s.host != "" && !oci.ValidHost(s.host) {
		errs = append(errs, fmt.Errorf("registry-hostname %q is not host[:port]: write for example 123456789012.dkr.ecr.eu-west-1.amazonaws.com", c.RegistryHostname))
	}
	for k, v := range s.tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			errs = append(errs, fmt.Errorf("ecr-tags entry %q: keys must be 1 to 128 characters and values at most 256", k))
		}
	}
	if s.maxAge < 1 {
		errs = append(errs, fmt.Errorf("max-age-days is %d: give a whole number of days, 1 or more", s.maxAge))
	}
	if len(errs) > 0 {
		return s, &engine.ConfigError{Err: errors.Join(errs...)}
	}
	return s, nil
}

// validName checks an ECR repository name; given tells whether the user
// wrote it (ecr-name) or it is the front end's default.
func validName(name string, given bool) error {
	if len(name) >= 2 && len(name) <= 256 && repoName.MatchString(name) {
		return nil
	}
	rules := "ECR names are 2 to 256 characters: lower-case letters and digits, separated by single . _ or -, with / between path parts (for example build-cache/my-org/my-pipeline)"
	if given {
		return fmt.Errorf("ecr-name %q is not a valid ECR repository name: %s", name, rules)
	}
	return fmt.Errorf("the default repository name %q is not a valid ECR repository name: set ecr-name; %s", name, rules)
}
