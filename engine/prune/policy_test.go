package prune

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	key := func(n int) string { return fmt.Sprintf("%040x", n) }
	img := func(n int, ago time.Duration) Image {
		return Image{Tag: key(n), Key: key(n), Digest: fmt.Sprintf("sha256:%064x", n), Pushed: now.Add(-ago)}
	}
	policy := Policy{MaxAge: 7 * day, KeepLast: 2, Now: now}
	tests := []struct {
		name   string
		policy Policy
		images []Image
		want   string // the tags deleted, as key numbers or names
	}{
		{"nothing", policy, nil, ""},
		{"keep-last wins over age", policy, []Image{img(1, 30*day), img(2, 20*day), img(3, 40*day)}, "3"},
		{"max-age keeps more than keep-last", policy, []Image{img(1, time.Hour+time.Minute), img(2, 2*day), img(3, 6*day), img(4, 8*day)}, "4"},
		{"keep-last 0 keeps only the young", Policy{MaxAge: 7 * day, Now: now}, []Image{img(1, 8*day), img(2, 6*day)}, "1"},
		{"the last hour is never deleted", Policy{MaxAge: time.Minute, Now: now}, []Image{img(1, 30*time.Minute), img(2, 2*time.Hour)}, "2"},
		{"a future build time is young", Policy{MaxAge: day, Now: now}, []Image{img(1, -day)}, ""},
		{"unknown age is kept", Policy{MaxAge: day, Now: now}, []Image{{Tag: key(1), Key: key(1), Digest: "sha256:1"}}, ""},
		{"latest's image is kept", Policy{MaxAge: day, Now: now}, []Image{img(1, 9*day), img(2, 9*day), {Tag: "latest", Digest: img(1, 0).Digest}}, "2"},
		{"a tag that is not a key is never deleted", Policy{MaxAge: day, Now: now}, []Image{{Tag: "v1", Digest: "sha256:v1", Pushed: now.Add(-9 * day)}}, ""},
		{"a key tag without the cache's label is never deleted", Policy{MaxAge: day, Now: now},
			[]Image{{Tag: key(1), Digest: "sha256:1", Pushed: now.Add(-9 * day)}, {Tag: key(2), Key: key(3), Digest: "sha256:2", Pushed: now.Add(-9 * day)}}, ""},
		{"a digest a kept tag names is kept", Policy{MaxAge: day, Now: now},
			[]Image{img(1, 9*day), img(2, 9*day), {Tag: "stable", Digest: img(2, 0).Digest}}, "1"},
		{"a digest two deleted keys share goes once", Policy{MaxAge: day, Now: now},
			[]Image{img(1, 9*day), {Tag: key(2), Key: key(2), Digest: img(1, 0).Digest, Pushed: now.Add(-9 * day)}}, "1,2"},
		{"a kept key protects a deleted key's digest", Policy{MaxAge: day, KeepLast: 1, Now: now},
			[]Image{{Tag: key(1), Key: key(1), Digest: "sha256:same", Pushed: now.Add(-8 * day)}, {Tag: key(2), Key: key(2), Digest: "sha256:same", Pushed: now.Add(-9 * day)}}, ""},
		{"untagged cache manifests go after an hour", Policy{MaxAge: 7 * day, KeepLast: 10, Now: now},
			[]Image{{Digest: "sha256:u1", Cache: true, Pushed: now.Add(-2 * time.Hour)}, {Digest: "sha256:u2", Cache: true, Pushed: now.Add(-time.Minute)}}, "(sha256:u1)"},
		{"untagged manifests of others stay", policy, []Image{{Digest: "sha256:u1", Pushed: now.Add(-30 * day)}}, ""},
		{"ties are broken by tag", Policy{MaxAge: day, KeepLast: 1, Now: now}, []Image{img(2, 9*day), img(1, 9*day)}, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range Decide(tt.policy, tt.images) {
				if d.Why == "" {
					t.Errorf("%s: no reason given", d.Tag)
				}
				if !d.Delete {
					continue
				}
				switch {
				case d.Tag == "":
					got = append(got, "("+d.Digest+")")
				case IsKeyTag(d.Tag):
					var n int
					if _, err := fmt.Sscanf(d.Tag, "%x", &n); err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprint(n))
				default:
					got = append(got, d.Tag)
				}
			}
			if s := strings.Join(got, ","); s != tt.want {
				t.Errorf("deleted %q, want %q", s, tt.want)
			}
		})
	}
}

func TestDecideReasons(t *testing.T) {
	now := time.Now()
	d := Decide(Policy{MaxAge: 7 * 24 * time.Hour, KeepLast: 10, Now: now}, []Image{
		{Tag: "latest", Digest: "sha256:a"},
		{Tag: strings.Repeat("a", 40), Key: strings.Repeat("a", 40), Digest: "sha256:a", Pushed: now.Add(-100 * time.Hour)},
	})
	if d[0].Why != "latest" || d[1].Why != "latest names it" {
		t.Errorf("reasons %q, %q", d[0].Why, d[1].Why)
	}
	if got := PlanLine(now, d[1]); !strings.Contains(got, "keep") || !strings.Contains(got, "4d4h") {
		t.Errorf("plan line %q: want the verdict and the age", got)
	}
}
