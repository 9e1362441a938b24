package engine

import (
	"errors"
	"fmt"
	"strings"
)

// CheckUnhashedBuildArgs returns an error for each unhashed-build-args
// entry that is not NAME or NAME=value, or whose NAME is also a hashed
// build arg (build-args, or --build-arg in additional-build-args): a value
// is in the key or out of it, not both. Unhashed build args are passed to
// the build like the others, for volatile values such as a build number.
func CheckUnhashedBuildArgs(buildArgs, unhashed []string) error {
	var errs []error
	hashed := map[string]bool{}
	for _, a := range buildArgs {
		name, _, _ := strings.Cut(a, "=")
		hashed[name] = true
	}
	for _, a := range unhashed {
		name, _, _ := strings.Cut(a, "=")
		switch {
		case !envName().MatchString(name):
			errs = append(errs, fmt.Errorf("unhashed-build-args entry %q does not start with a valid NAME: write NAME or NAME=value", a))
		case hashed[name]:
			errs = append(errs, fmt.Errorf("%s is in both build-args and unhashed-build-args: keep it in one list (build-args are part of the key, unhashed-build-args are not)", name))
		}
	}
	return errors.Join(errs...)
}
