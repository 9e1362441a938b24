package engine

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of the stall and lock options.
const (
	DefaultStallTimeoutBuild    = 5 * time.Minute
	DefaultStallTimeoutPullPush = 2 * time.Minute
	DefaultLockTimeout          = 30 * time.Minute
)

// ReliabilityOptions are the stall and lock options, as given: durations
// such as 5m, empty for the default.
type ReliabilityOptions struct {
	StallTimeoutBuild    string // stall-timeout-build
	StallTimeoutPullPush string // stall-timeout-pull-push
	LockDir              string // lock-dir
	LockTimeout          string // lock-timeout
}

// Reliability is how long a run waits on others before it gives up.
type Reliability struct {
	// StallBuild and StallPullPush stop a build, or a pull or push, whose
	// stream shows no progress for that long; 0 means no limit.
	StallBuild, StallPullPush time.Duration
	// LockDir holds the lock files of builds on this machine; empty means
	// the default under the user's cache directory.
	LockDir string
	// LockTimeout bounds the wait for another run's build of the same key.
	LockTimeout time.Duration
}

// reliability parses the stall and lock options into r; an empty option
// takes its default.
func (c *Config) reliability(r *Reliability) []error {
	var errs []error
	parse := func(name, text string, def time.Duration, dst *time.Duration) {
		text = strings.TrimSpace(text)
		if text == "" {
			*dst = def
			return
		}
		if text == "0" {
			return
		}
		d, err := time.ParseDuration(text)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s is %q: write a duration such as %s, or 0", name, text, strings.TrimSuffix(def.String(), "0s")))
			return
		}
		*dst = d
	}
	parse("stall-timeout-build", c.StallTimeoutBuild, DefaultStallTimeoutBuild, &r.StallBuild)
	parse("stall-timeout-pull-push", c.StallTimeoutPullPush, DefaultStallTimeoutPullPush, &r.StallPullPush)
	parse("lock-timeout", c.LockTimeout, DefaultLockTimeout, &r.LockTimeout)
	if c.LockDir != "" {
		r.LockDir = c.absPath(c.LockDir)
	}
	return errs
}
