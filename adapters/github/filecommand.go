package github

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// FormatFileCommand formats entries for a runner file command (GITHUB_OUTPUT,
// GITHUB_ENV) as NAME<<DELIMITER, the value, DELIMITER, each on its own line,
// with a fresh random delimiter. A name or value that could end an entry
// early or start another is refused, and then nothing is returned.
//
// githubactions.SetOutput and SetEnv are not used: their delimiter is fixed
// and known, so a value holding it could add entries of its own, and they
// check nothing. The entries checked here go through the library's
// IssueFileCommand instead, which writes a message as given.
func FormatFileCommand(entries []engine.Output) ([]byte, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return formatFileCommand(entries, "ghadelimiter_"+hex.EncodeToString(b))
}

func formatFileCommand(entries []engine.Output, delimiter string) ([]byte, error) {
	var buf bytes.Buffer
	for _, e := range entries {
		switch {
		case e.Name == "":
			return nil, fmt.Errorf("an output has an empty name")
		case strings.ContainsAny(e.Name, "=<\r\n"):
			// A < would join the << that follows the name: "a<" + "<<D" reads as "a" and "<D".
			return nil, fmt.Errorf("output name %q contains =, < or a line break", e.Name)
		case strings.ContainsAny(e.Value, "\r\n"):
			return nil, fmt.Errorf("output %s: the value contains a line break", e.Name)
		case strings.Contains(e.Value, delimiter):
			return nil, fmt.Errorf("output %s: the value contains the delimiter", e.Name)
		}
		fmt.Fprintf(&buf, "%s<<%s\n%s\n%s\n", e.Name, delimiter, e.Value, delimiter)
	}
	return buf.Bytes(), nil
}

// fileCommand appends entries, formatted by FormatFileCommand, to the
// runner's file for the command name ("output": GITHUB_OUTPUT, "env":
// GITHUB_ENV) in one write.
func fileCommand(a *githubactions.Action, name string, entries []byte) error {
	if len(entries) == 0 {
		return nil
	}
	// The library ends the message with the line end itself.
	return issueFileCommand(a, name, strings.TrimSuffix(string(entries), "\n"))
}

// addStepSummary appends markdown to GITHUB_STEP_SUMMARY, as
// githubactions.AddStepSummary does, with an error rather than a panic.
func addStepSummary(a *githubactions.Action, markdown string) error {
	return issueFileCommand(a, "step-summary", strings.TrimSuffix(markdown, "\n"))
}

// issueFileCommand is githubactions.IssueFileCommand, which panics with an
// error when the file cannot be written, returning that error instead.
func issueFileCommand(a *githubactions.Action, name, message string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(error)
			if !ok {
				panic(p)
			}
			err = e
		}
	}()
	a.IssueFileCommand(&githubactions.Command{Name: name, Message: message})
	return nil
}
