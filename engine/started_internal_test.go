package engine

import (
	"testing"
	"time"
)

// TestStartedOrdersBuildsOfOneSecond: two builds that start in the same
// second are still ordered, so latest moves forward between them; labels
// of whole seconds, as older images wrote them, still read.
func TestStartedOrdersBuildsOfOneSecond(t *testing.T) {
	t.Parallel()
	first := time.Unix(1796066665, 100)
	second := first.Add(time.Millisecond)
	a, okA := parseStarted(formatStarted(first))
	b, okB := parseStarted(formatStarted(second))
	if !okA || !okB || !a.Equal(first) || !b.Equal(second) || !a.Before(b) {
		t.Errorf("round trip: %v %v, %v %v", a, okA, b, okB)
	}
	if old, ok := parseStarted("1796066665"); !ok || !old.Equal(time.Unix(1796066665, 0)) {
		t.Errorf("whole seconds: %v %v", old, ok)
	}
	for _, bad := range []string{"", "x", "1.2", "1.-00000001", "1.00000000x"} {
		if _, ok := parseStarted(bad); ok {
			t.Errorf("parseStarted(%q) accepted", bad)
		}
	}
}
