package main

import (
	"context"
	"errors"
)

// runGitHub is being written.
func runGitHub(context.Context, []string, process) error {
	return errors.New("the github front end is not built yet")
}
