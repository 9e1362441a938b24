package google

import "io"

// nopReporter is the reporter when none is given: it shows nothing.
type nopReporter struct{}

func (nopReporter) Group(string)         {}
func (nopReporter) Infof(string, ...any) {}
func (nopReporter) Warnf(string, ...any) {}
func (nopReporter) Mask(string)          {}
func (nopReporter) Redact(string)        {}
func (nopReporter) Progress() io.Writer  { return io.Discard }
