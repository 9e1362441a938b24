package github

import "strings"

// forkPullRequest reports whether the workflow runs for a pull request from
// a fork, whose token may not push: a pull_request event (any but
// pull_request_target, which runs with the base repository's token) whose
// head repository is not the base repository, or is a fork. The event
// payload is the one at GITHUB_EVENT_PATH, as go-githubactions reads it.
func forkPullRequest(eventName string, event map[string]any) bool {
	if !strings.HasPrefix(eventName, "pull_request") || eventName == "pull_request_target" {
		return false
	}
	pr, _ := event["pull_request"].(map[string]any)
	head, _ := dig(pr, "head", "repo")
	base, _ := dig(pr, "base", "repo")
	if head == nil {
		return false
	}
	if fork, _ := head["fork"].(bool); fork {
		return true
	}
	h, _ := head["full_name"].(string)
	b, _ := base["full_name"].(string)
	return h != "" && b != "" && !strings.EqualFold(h, b)
}

// dig follows keys through nested JSON objects.
func dig(m map[string]any, keys ...string) (map[string]any, bool) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}
