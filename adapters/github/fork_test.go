package github

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadForkPullRequest(t *testing.T) {
	t.Parallel()
	pr := func(head, base string, fork bool) string {
		f := "false"
		if fork {
			f = "true"
		}
		return `{"pull_request": {"head": {"repo": {"full_name": "` + head + `", "fork": ` + f + `}}, "base": {"repo": {"full_name": "` + base + `"}}}}`
	}
	for _, tt := range []struct {
		name, event, payload string
		want                 bool
	}{
		{"a pull request from a fork", "pull_request", pr("someone/app", "acme/app", true), true},
		{"head repository differs, fork flag absent", "pull_request", `{"pull_request": {"head": {"repo": {"full_name": "someone/app"}}, "base": {"repo": {"full_name": "acme/app"}}}}`, true},
		{"a pull request from a branch", "pull_request", pr("acme/app", "acme/app", false), false},
		{"names differing only in case", "pull_request", pr("Acme/App", "acme/app", false), false},
		{"a review on a fork's pull request", "pull_request_review", pr("someone/app", "acme/app", true), true},
		{"pull_request_target runs with the base's token", "pull_request_target", pr("someone/app", "acme/app", true), false},
		{"a push", "push", `{"ref": "refs/heads/main"}`, false},
		{"a fork's head repository deleted", "pull_request", `{"pull_request": {"head": {"repo": null}, "base": {"repo": {"full_name": "acme/app"}}}}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := runnerEnv(t, nil)
			event := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(event, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			env["GITHUB_EVENT_PATH"], env["GITHUB_EVENT_NAME"] = event, tt.event
			c, err := load(env)
			if err != nil {
				t.Fatal(err)
			}
			if c.ForkPullRequest != tt.want {
				t.Errorf("ForkPullRequest = %v, want %v", c.ForkPullRequest, tt.want)
			}
		})
	}
}
