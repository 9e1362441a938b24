package engine

import "time"

// ParseStarted reads an image's LabelBuildStarted: when its build started.
func ParseStarted(s string) (time.Time, bool) { return parseStarted(s) }
