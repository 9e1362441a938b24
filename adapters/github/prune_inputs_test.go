package github

import "testing"

// TestPruneInputs: the prune and keep-last inputs, as the runner sets them.
func TestPruneInputs(t *testing.T) {
	t.Parallel()
	c, err := load(runnerEnv(t, map[string]string{"INPUT_PRUNE": "true", "INPUT_KEEP-LAST": "4", "INPUT_MAX-AGE-DAYS": "14"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Prune || c.KeepLast != 4 || c.MaxAgeDays != 14 {
		t.Errorf("prune %v, keep-last %d, max-age-days %d", c.Prune, c.KeepLast, c.MaxAgeDays)
	}
}
