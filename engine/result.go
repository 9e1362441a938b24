package engine

import (
	"fmt"
	"strconv"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// Result is what a run hands over.
type Result struct {
	Image    string  `json:"image"`
	Tag      string  `json:"tag"`
	Ref      string  `json:"image-ref"`
	CacheHit bool    `json:"cache-hit"`
	Digest   string  `json:"digest"`
	Key      key.Key `json:"-"`

	Pulled   bool          `json:"-"`
	Built    bool          `json:"-"`
	Pushed   bool          `json:"-"`
	Unstored bool          `json:"-"` // built, and only on this machine: save: false, or a fork's refused push
	Elapsed  time.Duration `json:"-"`
	Saved    time.Duration `json:"-"` // the recorded build time a hit avoided
	Changed  []key.Change  `json:"-"` // inputs that differ from the previous image, on a miss
	Previous string        `json:"-"` // the image the change was measured against
}

// Variables every front end exports to the job, named as the original
// Buildkite plugin named them so that scripts work on every CI.
const (
	DefaultImageVar = "BUILDKITE_PLUGIN_DOCKER_IMAGE" // export-env-variable's default: image:tag
	ExportImage     = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_IMAGE"
	ExportTag       = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_TAG"
	ExportCacheHit  = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_CACHE_HIT"
	ExportDigest    = "BUILDKITE_PLUGIN_DOCKER_ECR_CACHE_EXPORT_DIGEST"
)

// Exports are the variables the original plugin exported, also when the
// pull was skipped, and two more: whether the key hit, and the digest.
// imageVar is export-env-variable; empty means DefaultImageVar.
func (r Result) Exports(imageVar string) []Output {
	if imageVar == "" {
		imageVar = DefaultImageVar
	}
	return []Output{
		{imageVar, r.Ref},
		{ExportImage, r.Image},
		{ExportTag, r.Tag},
		{ExportCacheHit, strconv.FormatBool(r.CacheHit)},
		{ExportDigest, r.Digest},
	}
}

// Output is one named result value.
type Output struct{ Name, Value string }

// Outputs lists the results every front end writes, in a fixed order.
func (r Result) Outputs() []Output {
	return []Output{
		{"image", r.Image},
		{"tag", r.Tag},
		{"image-ref", r.Ref},
		{"cache-hit", strconv.FormatBool(r.CacheHit)},
		{"digest", r.Digest},
		{"key", r.Key.Tag},
	}
}

// ShortDigest is a digest's algorithm and first 12 hex digits.
func ShortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// Summary is the one-line outcome of a run.
func Summary(r Result) string {
	switch {
	case r.CacheHit && r.Saved > 0:
		return fmt.Sprintf("cache hit: %s in %s, saving a %s build", r.Ref, r.Elapsed.Round(time.Millisecond), r.Saved.Round(100*time.Millisecond))
	case r.CacheHit:
		return fmt.Sprintf("cache hit: %s in %s", r.Ref, r.Elapsed.Round(time.Millisecond))
	case r.Unstored:
		return fmt.Sprintf("cache miss: built %s in %s, on this machine only: not stored", r.Ref, r.Elapsed.Round(100*time.Millisecond))
	default:
		return fmt.Sprintf("cache miss: built and stored %s in %s", r.Ref, r.Elapsed.Round(100*time.Millisecond))
	}
}
