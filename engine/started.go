package engine

import "time"

// ParseStarted reads an image's LabelBuildStarted: when its build started.
func ParseStarted(s string) (time.Time, bool) { return parseStarted(s) }

// FormatStarted writes t as LabelBuildStarted holds it.
func FormatStarted(t time.Time) string { return formatStarted(t) }
