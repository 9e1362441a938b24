package buildkite

import "testing"

func TestLoadForkPullRequest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		repo, prRepo, pr string
		want             bool
	}{
		{"git@github.com:acme/app.git", "https://github.com/someone/app.git", "42", true},
		{"git@github.com:acme/app.git", "git://github.com/someone/app.git", "42", true},
		{"git@github.com:acme/app.git", "https://github.com/acme/app.git", "42", false},
		{"git@github.com:acme/app.git", "https://github.com/Acme/App", "42", false},
		{"ssh://git@github.com:22/acme/app.git", "https://github.com/acme/app", "42", false},
		{"https://x-token@github.com/acme/app.git", "git@github.com:acme/app", "42", false},
		{"git@github.com:acme/app.git", "", "false", false},
		{"git@github.com:acme/app.git", "https://github.com/someone/app.git", "false", false},
		{"git@github.com:acme/app.git", "git@gitlab.com:acme/app.git", "7", true},
	} {
		j := newJob(t, map[string]any{}, false)
		j["BUILDKITE_REPO"], j["BUILDKITE_PULL_REQUEST_REPO"], j["BUILDKITE_PULL_REQUEST"] = tt.repo, tt.prRepo, tt.pr
		c, err := load(t, j)
		if err != nil {
			t.Fatal(err)
		}
		if c.ForkPullRequest != tt.want {
			t.Errorf("BUILDKITE_REPO %s, BUILDKITE_PULL_REQUEST_REPO %s: ForkPullRequest = %v, want %v", tt.repo, tt.prRepo, c.ForkPullRequest, tt.want)
		}
	}
}
