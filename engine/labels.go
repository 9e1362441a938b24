package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Labels written on every image the cache builds.
const (
	LabelKey          = "org.docker-ecr-cache.key"
	LabelInputs       = "org.docker-ecr-cache.inputs"
	LabelBuildStarted = "org.docker-ecr-cache.build-started" // unix seconds, with nanoseconds after a point
)

// buildTime is how long img took to build: from the start recorded in its
// labels to its creation time.
func buildTime(img Image) time.Duration {
	started, ok := parseStarted(img.Labels[LabelBuildStarted])
	if !ok || img.Created.IsZero() {
		return 0
	}
	return max(img.Created.Sub(started), 0)
}

// formatStarted writes a build's start for LabelBuildStarted: unix seconds,
// then nanoseconds after a point, so that builds of one second are ordered.
func formatStarted(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// parseStarted reads LabelBuildStarted, also as older images wrote it
// (whole seconds).
func parseStarted(s string) (time.Time, bool) {
	sec, frac, hasFrac := strings.Cut(s, ".")
	unix, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac {
		if len(frac) != 9 {
			return time.Time{}, false
		}
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 {
			return time.Time{}, false
		}
	}
	return time.Unix(unix, nsec), true
}
