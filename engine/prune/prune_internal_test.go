package prune

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// listed is a Backend whose List gives images as an index would guess
// them, and whose Confirm gives the truth: it counts what it confirms.
type listed struct {
	guess, truth map[string]Image
	order        []string
	confirmed    map[string]int
	deleted      []string
}

func (l *listed) Repository() string { return "test" }

func (l *listed) List(context.Context) ([]Image, error) {
	var out []Image
	for _, tag := range l.order {
		out = append(out, l.guess[tag])
	}
	return out, nil
}

func (l *listed) Confirm(_ context.Context, plan []Decision) error {
	for i := range plan {
		if plan[i].Delete {
			l.confirmed[plan[i].Tag]++
			plan[i].Image = l.truth[plan[i].Tag]
		}
	}
	return nil
}

func (l *listed) Delete(_ context.Context, digest string) error {
	l.deleted = append(l.deleted, digest)
	return nil
}

// TestRunConfirmsEveryDeletion: what Confirm corrects can move another key
// out of keep-last; that key is confirmed too before it is deleted.
func TestRunConfirmsEveryDeletion(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	img := func(tag string, age time.Duration) Image {
		return Image{Tag: tag, Key: tag, Digest: "sha256:" + tag, Pushed: now.Add(-age)}
	}
	a, b := fmt.Sprintf("%040d", 1), fmt.Sprintf("%040d", 2)
	l := &listed{
		order:     []string{a, b},
		guess:     map[string]Image{a: img(a, 20*day), b: img(b, 30*day)}, // b's age is wrong
		truth:     map[string]Image{a: img(a, 20*day), b: img(b, 2*day)},
		confirmed: map[string]int{},
	}
	res, err := Run(context.Background(), l, Policy{MaxAge: 7 * day, KeepLast: 1, Now: now}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.deleted) != 1 || l.deleted[0] != "sha256:"+a || l.confirmed[a] != 1 || l.confirmed[b] != 1 {
		t.Errorf("deleted %v, confirmed %v; want a deleted after its own confirmation, b kept", l.deleted, l.confirmed)
	}
	if del, keep := res.Count(); del != 1 || keep != 1 {
		t.Errorf("plan: %d deleted, %d kept", del, keep)
	}
}
