//go:build !linux

package key

import "os"

// openBeneath is openat2's fast path on Linux: elsewhere, files are opened
// through os.Root.
func openBeneath(int, string, int) (*os.File, bool) { return nil, false }
