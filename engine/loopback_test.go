package engine_test

import (
	"testing"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// TestLoopback: the one loopback check, for image references and hosts.
func TestLoopback(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]bool{
		"127.0.0.1:5000/app:tag":              true,
		"127.1.2.3/app":                       true,
		"localhost:5000/app":                  true,
		"[::1]:5000/app":                      true,
		"10.0.0.1:5000/app":                   false,
		"123.dkr.ecr.x.amazonaws.com/app:tag": false,
		"app:tag":                             false,
		"localhost":                           true,
		"[::1]":                               true,
	} {
		if got := engine.Loopback(ref); got != want {
			t.Errorf("loopback(%q) = %v, want %v", ref, got, want)
		}
	}
}
