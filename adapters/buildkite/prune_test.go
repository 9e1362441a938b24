package buildkite

import "testing"

// TestPruneOptions: prune and keep-last are plugin options, as the agent
// sets them from the pipeline (JSON and flattened variables alike).
func TestPruneOptions(t *testing.T) {
	t.Parallel()
	for _, oldAgent := range []bool{false, true} {
		c, err := load(t, newJob(t, map[string]any{"prune": true, "keep-last": 3, "max-age-days": 14}, oldAgent))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Prune || c.KeepLast != 3 || c.MaxAgeDays != 14 {
			t.Errorf("old agent %v: prune %v, keep-last %d, max-age-days %d", oldAgent, c.Prune, c.KeepLast, c.MaxAgeDays)
		}
	}
	c, err := load(t, newJob(t, map[string]any{}, false))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prune || c.KeepLast != 10 {
		t.Errorf("defaults: prune %v, keep-last %d; want false and 10", c.Prune, c.KeepLast)
	}
}
