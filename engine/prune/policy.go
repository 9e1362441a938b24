// Package prune deletes the images of old cache keys from a registry, so
// that max-age-days bounds the storage on every registry as ECR's
// lifecycle policy does there.
package prune

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine/key"
)

// MinAge is the age under which an image is never deleted, whatever the
// policy: a run may be about to pull it.
const MinAge = time.Hour

// DefaultKeepLast is keep-last's default.
const DefaultKeepLast = 10

// Image is one tag of the repository, or one untagged manifest (Tag
// empty), as the policy sees it.
type Image struct {
	Tag    string
	Digest string
	// Key is the image's key label, org.docker-ecr-cache.key; empty when
	// the image is not the cache's. For an untagged manifest, Cache tells.
	Key string
	// Cache is true for an untagged manifest the cache left behind: a
	// superseded key image or buildcache manifest.
	Cache bool
	// Pushed is when the image was pushed (GHCR) or its build started
	// (the build-started label); zero when unknown.
	Pushed time.Time
}

// Policy is what is kept.
type Policy struct {
	MaxAge   time.Duration // max-age-days
	KeepLast int           // keep-last: the newest keys kept whatever their age
	Now      time.Time
}

// Decision is the policy's verdict on one image.
type Decision struct {
	Image
	Delete bool
	Why    string
}

// Age is how old the image is at now, or 0 when unknown.
func (d Decision) Age(now time.Time) time.Duration {
	if d.Pushed.IsZero() {
		return 0
	}
	return now.Sub(d.Pushed)
}

var keyTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(fmt.Sprintf("^[0-9a-f]{%d}$", key.Length)) })

// IsKeyTag reports whether tag has the form of a cache key. Only such tags
// are candidates: others (latest, buildcache, a user's own) are kept
// without reading their images.
func IsKeyTag(tag string) bool { return keyTag().MatchString(tag) }

// Decide applies p to images and returns a decision for each, in the
// order given. A key image (its key label is its tag) is deleted only when
// it is not latest's, not among the KeepLast newest keys, older than
// MaxAge and MinAge, and its digest is not named by any kept tag. An
// untagged cache manifest is deleted when older than MinAge and not named
// by a kept tag. Everything else is kept.
func Decide(p Policy, images []Image) []Decision {
	out := make([]Decision, len(images))
	for i, img := range images {
		out[i] = Decision{Image: img}
	}
	latest := map[string]bool{}
	for _, img := range images {
		if img.Tag == "latest" {
			latest[img.Digest] = true
		}
	}
	// The newest keys first; ties by tag, so that the plan is stable.
	var keys []int
	for i, img := range images {
		if img.Tag != "" && img.Key == img.Tag {
			keys = append(keys, i)
		}
	}
	sort.SliceStable(keys, func(a, b int) bool {
		x, y := images[keys[a]], images[keys[b]]
		if !x.Pushed.Equal(y.Pushed) {
			return x.Pushed.After(y.Pushed)
		}
		return x.Tag < y.Tag
	})
	rank := make(map[int]int, len(keys))
	for r, i := range keys {
		rank[i] = r
	}
	for i := range out {
		d := &out[i]
		age := d.Age(p.Now)
		r, isKey := rank[i]
		switch {
		case d.Tag != "" && !isKey:
			d.Why = "not a key image of this cache"
			if d.Tag == "latest" {
				d.Why = "latest"
			}
		case d.Tag == "" && !d.Cache:
			d.Why = "not left by this cache"
		case d.Pushed.IsZero():
			d.Why = "age unknown"
		case age < MinAge:
			d.Why = "pushed within the last hour"
		case latest[d.Digest]:
			d.Why = "latest names it"
		case isKey && r < p.KeepLast:
			d.Why = fmt.Sprintf("among the newest %d keys (keep-last)", p.KeepLast)
		case isKey && age < p.MaxAge:
			d.Why = fmt.Sprintf("younger than %s (max-age-days)", days(p.MaxAge))
		case isKey:
			d.Delete, d.Why = true, fmt.Sprintf("older than %s (max-age-days) and not among the newest %d keys", days(p.MaxAge), p.KeepLast)
		default:
			d.Delete, d.Why = true, "untagged, left by a later push"
		}
	}
	// A digest that a kept tag names stays: deleting a manifest deletes
	// every tag that names it.
	kept := map[string]string{}
	for _, d := range out {
		if !d.Delete && d.Tag != "" {
			if _, ok := kept[d.Digest]; !ok {
				kept[d.Digest] = d.Tag
			}
		}
	}
	for i := range out {
		if d := &out[i]; d.Delete {
			if tag, ok := kept[d.Digest]; ok {
				d.Delete, d.Why = false, "its digest is also "+tag+", which is kept"
			}
		}
	}
	return out
}

func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// FormatAge writes an age as days and hours, or - when unknown.
func FormatAge(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return "<1m"
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	default:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
}
