package buildkite

import "strings"

// forkPullRequest reports whether the job builds a pull request from a fork,
// whose credential may not push: BUILDKITE_PULL_REQUEST_REPO names another
// repository than BUILDKITE_REPO, in whichever of the git@host:path,
// ssh:// or https:// forms each is written.
func forkPullRequest(getenv func(string) string) bool {
	pr := getenv("BUILDKITE_PULL_REQUEST_REPO")
	if pr == "" || getenv("BUILDKITE_PULL_REQUEST") == "false" {
		return false
	}
	return repoName(pr) != repoName(getenv("BUILDKITE_REPO"))
}

// repoName is a git remote's host/path, lower-cased, without scheme, user,
// port of ssh, or .git: git@github.com:org/app.git and
// https://github.com/org/app are both github.com/org/app.
func repoName(remote string) string {
	s := strings.ToLower(strings.TrimSpace(remote))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	} else if at, colon := strings.Index(s, "@"), strings.Index(s, ":"); colon > at && !strings.Contains(s[:colon], "/") {
		s = s[:colon] + "/" + s[colon+1:] // scp form: user@host:path
	}
	if at := strings.LastIndex(s, "@"); at >= 0 && at < strings.Index(s+"/", "/") {
		s = s[at+1:]
	}
	host, path, _ := strings.Cut(s, "/")
	if h, port, ok := strings.Cut(host, ":"); ok && port == "22" {
		host = h
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	return host + "/" + path
}
