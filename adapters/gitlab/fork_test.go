package gitlab

import "testing"

// A merge request from a fork runs in the source project: its ID differs
// from the target's.
func TestLoadForkMergeRequest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		src, dst string
		want     bool
	}{
		{"101", "7", true},
		{"7", "7", false},
		{"", "", false},
		{"", "7", false},
	} {
		c, _, err := Load(nil, job(t, map[string]string{"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": tt.src, "CI_MERGE_REQUEST_PROJECT_ID": tt.dst}))
		if err != nil {
			t.Fatal(err)
		}
		if c.ForkPullRequest != tt.want {
			t.Errorf("source project %q, target %q: ForkPullRequest = %v, want %v", tt.src, tt.dst, c.ForkPullRequest, tt.want)
		}
	}
}
