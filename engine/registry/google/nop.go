package google

import (
	"io"

	"github.com/docker-ecr-cache/docker-ecr-cache/engine"
)

// nopReporter is the reporter when none is given: it shows nothing.
type nopReporter struct{}

func (nopReporter) Phase(engine.Phase, string) {}
func (nopReporter) Infof(string, ...any)       {}
func (nopReporter) Warnf(string, ...any)       {}
func (nopReporter) Mask(string)                {}
func (nopReporter) Progress() io.Writer        { return io.Discard }
